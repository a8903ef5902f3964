-- Resources, their history, the search index and the Patient compartment (store/port.ts).
-- Timestamps are written truncated to milliseconds, the precision of meta.lastUpdated, so the
-- column and the JSON always hold the same instant.

-- The current version of each resource: the row read by id and joined by search.
-- fillfactor leaves room for HOT updates (no indexed column changes on update).
create table resource (
  resource_type text not null,
  id text not null,
  version_id bigint not null,
  last_updated timestamptz not null,
  method text not null,
  deleted boolean not null,
  -- The resource as JSON text with meta.versionId/lastUpdated inside; sent as stored on read.
  -- null for a tombstone.
  content text,
  primary key (resource_type, id)
) with (fillfactor = 90);

-- Every version including tombstones. The current version is also kept in `resource`: one more
-- copy on disk, in exchange for reads by id that touch one small row.
create table resource_history (
  -- Global commit-order-ish number: orders system/type history and anchors paging cursors.
  seq bigint generated always as identity,
  resource_type text not null,
  id text not null,
  version_id bigint not null,
  last_updated timestamptz not null,
  method text not null check (method in ('POST', 'PUT', 'PATCH', 'DELETE')),
  deleted boolean not null,
  content text,
  primary key (resource_type, id, version_id)
);
create unique index resource_history_seq on resource_history (seq);
create index resource_history_type_seq on resource_history (resource_type, seq);
-- History rows arrive in time order, so a BRIN index serves `_since`/`_at` for almost no write cost.
create index resource_history_last_updated on resource_history using brin (last_updated);

-- Search index rows of current, non-deleted resources; replaced on every write, removed on delete.
-- No unique constraints: a write deletes the old rows and inserts the new ones in one statement,
-- where a uniqueness check could see a row that the same statement is deleting.
create table search_token (
  resource_type text not null,
  id text not null,
  param text not null,
  system text,
  code text not null
);
create index search_token_lookup on search_token (resource_type, param, code, system) include (id);
create index search_token_resource on search_token (resource_type, id);

create table search_string (
  resource_type text not null,
  id text not null,
  param text not null,
  value text not null,
  -- Case- and accent-folded; text_pattern_ops serves both `=` and prefix `like`.
  normalized text not null
);
create index search_string_lookup on search_string (resource_type, param, normalized text_pattern_ops) include (id);
create index search_string_resource on search_string (resource_type, id);

create table search_reference (
  resource_type text not null,
  id text not null,
  param text not null,
  target_type text not null,
  target_id text not null
);
create index search_reference_lookup on search_reference (resource_type, param, target_id, target_type) include (id);
create index search_reference_resource on search_reference (resource_type, id);

-- The Patient compartment (compartmentdefinition-patient): the access filter and $everything
-- start here, and it is the natural distribution key for a later Citus layout (DESIGN.md D19).
create table compartment (
  patient_id text not null,
  resource_type text not null,
  id text not null
);
create index compartment_patient on compartment (patient_id, resource_type) include (id);
create index compartment_resource on compartment (resource_type, id);
