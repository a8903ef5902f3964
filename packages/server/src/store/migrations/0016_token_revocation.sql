-- Revocation that takes effect before an access token expires (identity/token-revocations.ts).
-- Access tokens are JWTs verified without the database; each node keeps these rows in memory and
-- refuses a token whose grant, user or client was revoked at or after the token was issued.
-- A row is needed only until every token it covers has expired (`expires_at`), so the table stays
-- as small as the number of revocations in one access-token lifetime.
create table identity_token_revocation (
  kind text not null check (kind in ('grant', 'user', 'client')),
  -- The grant id, the user id (the token's `sub`) or the client id.
  subject text not null,
  -- Tokens issued at or before this instant are refused.
  revoked_at timestamptz not null default now(),
  expires_at timestamptz not null,
  primary key (kind, subject)
);

-- A disabled client gets no token and its tokens are refused; it keeps its registration.
alter table identity_client add column disabled boolean not null default false;
