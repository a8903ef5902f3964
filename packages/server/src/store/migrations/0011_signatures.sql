-- Clinicians' signing certificates (signatures/) and the metadata of encrypted blobs (blobs/).

-- An X.509 certificate a Practitioner signs clinical records with (DESIGN.md D9). It is found by
-- its SHA-256 thumbprint (base64url, the JWS `x5t#S256` and the `kid` clients may send instead of
-- `x5c`). `chain_pem` holds the intermediates sent at registration, so a `kid` alone is enough to
-- build the chain to a trust anchor. A revoked registration stays, so old signatures can still be
-- explained; the CA's CRL is what revokes the certificate itself.
create table signing_certificate (
  thumbprint text primary key,
  practitioner_id text not null,
  certificate_pem text not null,
  chain_pem text not null default '',
  subject text not null,
  serial_number text not null,
  not_before timestamptz not null,
  not_after timestamptz not null,
  registered_at timestamptz not null default now(),
  revoked_at timestamptz
);
create index signing_certificate_practitioner on signing_certificate (practitioner_id);

-- One encrypted blob (DESIGN.md D13), addressed by the SHA-256 of its plaintext. Its content is
-- encrypted with AES-256-GCM under its own data key; the data key is stored only wrapped by the
-- master key `key_id` names, so rotating the master key rewrites these rows and never the blobs.
create table blob (
  hash text primary key,
  size bigint not null,
  content_type text,
  key_id text not null,
  wrapped_key text not null,
  nonce text not null,
  created_at timestamptz not null default now()
);
create index blob_key_id on blob (key_id);
