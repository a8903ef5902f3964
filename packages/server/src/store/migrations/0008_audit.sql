-- Audit (DESIGN.md D7, docs/audit-and-ledger.md): one row per AuditEvent (IHE BALP shape), kept
-- apart from `resource` because audit records are not versioned resources: they are never updated,
-- never deleted, and written by every request (reads included), so the table is lean and
-- append-only. The AuditEvent JSON is kept verbatim in `content`; the other columns are the compact
-- values `AuditEvent?…` searches and the patient access report filter on.
create table audit_event (
  id text primary key,
  -- AuditEvent.recorded. Writes: the transaction timestamp of the version they record; other
  -- events: when the server answered the request.
  recorded timestamptz not null,
  -- AuditEvent.type.code (`rest`, DICOM `110114` User Authenticated …) and subtype codes.
  type text not null,
  subtype text[] not null,
  -- AuditEvent.action (C R U D E) and outcome (0 4 8 12).
  action text not null,
  outcome text not null,
  -- Every agent.who reference and agent identifier (`Practitioner/…`, `client:<id>`, `user:<id>`).
  agent text[] not null,
  -- `Patient/<id>` of every patient the event is about (entity[patient]).
  patient text[] not null,
  -- Every entity.what reference (`Observation/1`, `Observation/1/_history/2`).
  entity text[] not null,
  source_ip text,
  -- The access was an emergency (break-the-glass) access: the patient's report flags it.
  break_glass boolean not null default false,
  content json not null
);

create index audit_event_recorded on audit_event (recorded);
create index audit_event_patient on audit_event using gin (patient);
create index audit_event_agent on audit_event using gin (agent);
create index audit_event_entity on audit_event using gin (entity);

-- Append-only, enforced by the database for every role (the application has no UPDATE or DELETE
-- path; this catches a bug, a stray script or a console session). In PostgreSQL the application's
-- role is additionally granted only INSERT and SELECT on this table (docs/audit-and-ledger.md),
-- so it cannot drop the trigger either; the ledger (D8) detects what a superuser does anyway.
create function audit_event_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_event is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end;
$$;

create trigger audit_event_no_update_or_delete before update or delete on audit_event
  for each row execute function audit_event_append_only();

create trigger audit_event_no_truncate before truncate on audit_event
  for each statement execute function audit_event_append_only();
