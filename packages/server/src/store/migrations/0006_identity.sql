-- Identity: the people who sign in, the client applications that ask for tokens, the keys that
-- sign tokens, and the authorization server's own state (packages/server/src/identity/).

-- A person who signs in. `fhir_user` links the account to the FHIR resource that represents the
-- person (Practitioner, Patient or RelatedPerson); `practitioner_role` and `organization` say in
-- which role and for which organisation a practitioner acts. Roles are Concordia's (access/roles.ts).
create table identity_user (
  id text primary key,
  username text not null unique,
  display_name text not null,
  -- argon2id PHC string; the password itself is never stored.
  password_hash text not null,
  roles text[] not null,
  fhir_user text,
  practitioner_role text,
  organization text,
  -- TOTP secret, encrypted with the identity key (identity/secret-box.ts); null until enrolled.
  mfa_secret text,
  mfa_enrolled_at timestamptz,
  -- The last TOTP time step accepted: a code is good once (RFC 6238 section 5.2).
  mfa_last_step bigint,
  failed_logins integer not null default 0,
  locked_until timestamptz,
  disabled boolean not null default false,
  created_at timestamptz not null default now(),
  password_changed_at timestamptz not null default now()
);

-- A client application. `metadata` is its OAuth 2.0 client metadata (RFC 7591) without the
-- secret; a confidential client's secret is kept only as a SHA-256 digest (it is 256 random bits,
-- so a slow hash adds nothing). `allowed_scopes` bounds what any token of this client can carry.
create table identity_client (
  client_id text primary key,
  name text not null,
  kind text not null check (kind in ('confidential', 'public', 'backend')),
  metadata text not null,
  secret_sha256 text,
  allowed_scopes text not null,
  organization text,
  created_at timestamptz not null default now()
);

-- Token signing keys (private JWKs encrypted with the identity key). The newest active key signs;
-- older ones stay published in the JWKS until retired, so tokens they signed still verify.
create table identity_signing_key (
  kid text primary key,
  alg text not null,
  private_jwk text not null,
  created_at timestamptz not null default now(),
  retired_at timestamptz
);

-- oidc-provider's models (sessions, interactions, grants, codes, refresh tokens, replay
-- detection of client assertion `jti`s …), one row per model instance, as the adapter contract
-- of oidc-provider asks: find by id, by uid, by user code; revoke every artefact of a grant.
create table identity_oidc_model (
  model text not null,
  id text not null,
  payload text not null,
  grant_id text,
  uid text,
  user_code text,
  consumed_at timestamptz,
  expires_at timestamptz,
  primary key (model, id)
);
create index identity_oidc_model_grant on identity_oidc_model (grant_id) where grant_id is not null;
create index identity_oidc_model_uid on identity_oidc_model (uid) where uid is not null;
create index identity_oidc_model_user_code on identity_oidc_model (user_code) where user_code is not null;
create index identity_oidc_model_expires on identity_oidc_model (expires_at) where expires_at is not null;

-- The launch context a user chose for a grant (SMART launch/patient: the patient picker), put
-- into the tokens issued under that grant.
create table identity_launch_context (
  grant_id text primary key,
  patient text,
  created_at timestamptz not null default now()
);
