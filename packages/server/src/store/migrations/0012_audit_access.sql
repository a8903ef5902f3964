-- The access log (docs/audit-and-ledger.md "How it is written"): every request the FHIR core
-- answers that is not a committed write — reads, vreads, searches, history, operations, refused and
-- failed requests — is recorded as one compact row of the facts its BALP AuditEvent is built from,
-- not as the AuditEvent JSON. The AuditEvent reader materialises the full event from these facts
-- (`AuditEvent/r<batch>-<position>`). Rows are written by the group-commit sink a batch at a time;
-- each batch is one ledger leaf (`audit-access-batch`) that commits to the hash of every row of the
-- batch in order, so `ledger verify` still locates any altered, removed or inserted row.
--
-- Only B-tree indexes, on what auditors search: time, requestor and time, patient and time. Searches
-- by entity, subtype or address filter the rows these leave (narrow them with `date`).

-- One number per committed batch (a gap is a batch that rolled back: it has no leaf either).
create sequence audit_access_batch_number;

create table audit_access (
  batch bigint not null,
  -- Place in the batch, from 0: the order of the batch leaf's row hashes.
  position integer not null,
  -- AuditEvent.recorded: when the server answered the request.
  recorded timestamptz not null,
  request_id text not null,
  -- restful-interaction code (`read`, `search-type`, `operation`…) and, for an operation, its name.
  interaction text not null,
  operation text,
  action text not null,
  outcome text not null,
  outcome_desc text,
  -- Who asked: the principal's kind (`user`, `client`, `system`, `anonymous`, `open-development`),
  -- its id, roles, fhirUser, organization and token id; the OAuth client they came through.
  actor text not null,
  actor_id text,
  roles text[],
  fhir_user text,
  organization text,
  token_id text,
  client_id text,
  -- What `AuditEvent?agent=` finds first: the user's id, the acting client's id, or `system:<id>`.
  requestor text not null,
  source_ip text,
  user_agent text,
  purpose text,
  -- Set (possibly empty) when the door flagged a break-the-glass access; null otherwise.
  break_glass_reason text,
  -- `Type/id`, `Type/id/_history/n` or `Type`; the query as sent (percent-encoded); the patients.
  entities text[] not null,
  query text,
  patients text[] not null,
  primary key (batch, position)
);

create index audit_access_recorded on audit_access (recorded);
create index audit_access_requestor on audit_access (requestor, recorded);

-- `AuditEvent?patient=` and the patient's access report: one row per (event, patient), derived from
-- `audit_access.patients` in the same statement (`ledger verify` checks that they agree).
create table audit_access_patient (
  patient text not null,
  recorded timestamptz not null,
  batch bigint not null,
  position integer not null
);
create index audit_access_patient_recorded on audit_access_patient (patient, recorded);

-- One row per batch: the node that recorded it (`AuditEvent.source`) and the SHA-256 of each row's
-- canonical JSON in position order (32 bytes each). The batch's ledger leaf hashes this content.
create table audit_access_batch (
  batch bigint primary key,
  observer text not null,
  site text,
  row_sha256 bytea not null check (octet_length(row_sha256) % 32 = 0)
);

-- Append-only like `audit_event` (migration 0008), for every role.
create function audit_access_append_only() returns trigger language plpgsql as $$
begin
  raise exception '% is append-only: % is not allowed', tg_table_name, tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_access_no_update_or_delete before update or delete on audit_access
  for each row execute function audit_access_append_only();
create trigger audit_access_no_truncate before truncate on audit_access
  for each statement execute function audit_access_append_only();
create trigger audit_access_patient_no_update_or_delete before update or delete on audit_access_patient
  for each row execute function audit_access_append_only();
create trigger audit_access_patient_no_truncate before truncate on audit_access_patient
  for each statement execute function audit_access_append_only();
create trigger audit_access_batch_no_update_or_delete before update or delete on audit_access_batch
  for each row execute function audit_access_append_only();
create trigger audit_access_batch_no_truncate before truncate on audit_access_batch
  for each statement execute function audit_access_append_only();

-- The batch leaf kind.
alter table ledger_entry drop constraint ledger_entry_kind_check;
alter table ledger_entry add constraint ledger_entry_kind_check
  check (kind in ('resource-version', 'audit-event', 'audit-access-batch'));
alter table ledger_leaf drop constraint ledger_leaf_kind_check;
alter table ledger_leaf add constraint ledger_leaf_kind_check
  check (kind in ('resource-version', 'audit-event', 'audit-access-batch'));
