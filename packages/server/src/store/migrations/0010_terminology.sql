-- The terminology store (DESIGN.md D14, issue 5): code systems as concept tables built for the
-- terminology operations, filled by the importers (terminology/import/) and by stored CodeSystem
-- and ConceptMap resources, through terminology/load-code-system.ts only.
--
-- Concepts are keyed by (code_system_id, ordinal): the loader numbers them itself while it streams,
-- so parents, the closure, designations and properties are written without a round trip to learn
-- ids. The child tables carry no foreign keys on purpose: a release writes ~500,000 closure rows,
-- and a per-row foreign-key check would cost more than the rest of the load; the loader deletes a
-- code system's rows from every table itself, by code_system_id.

create table code_system (
  id integer generated always as identity primary key,
  url text not null,
  version text not null,
  name text not null,
  title text,
  publisher text,
  language text,
  hierarchy_meaning text,
  -- CodeSystem.property definitions: [{ code, type, description }]
  properties jsonb not null default '[]',
  -- The stored CodeSystem resource whose concepts these are; null when an importer loaded them.
  resource_id text,
  concept_count integer not null default 0,
  loaded_at timestamptz not null default clock_timestamp(),
  unique (url, version)
);
-- The current version of a url is the one loaded last (an operator loads the new release).
create index code_system_current on code_system (url, loaded_at desc, id desc);
create index code_system_resource on code_system (resource_id) where resource_id is not null;

create table concept (
  code_system_id integer not null,
  ordinal integer not null,
  code text not null,
  display text,
  definition text,
  active boolean not null default true,
  selectable boolean not null default true,
  -- normalizeString (accent and case folding, as string search) of the display and every
  -- designation, as a `simple` tsvector: $expand's text filter is a prefix tsquery on it, which a
  -- GIN index answers on PostgreSQL and PGlite alike (PGlite ships pg_trgm only as a separately
  -- loaded extension).
  words tsvector not null,
  primary key (code_system_id, ordinal)
);
create unique index concept_code on concept (code_system_id, code);
create index concept_words on concept using gin (words);

-- Direct parents (CodeSystem.concept nesting, the `parent` property); several for SNOMED CT.
create table concept_parent (
  code_system_id integer not null,
  child integer not null,
  parent integer not null,
  primary key (code_system_id, child, parent)
);
create index concept_parent_children on concept_parent (code_system_id, parent, child);

-- The reflexive transitive closure of concept_parent, computed at load time: is-a, descendant-of,
-- $subsumes and the token modifiers :below/:above are one index lookup instead of a recursive query.
create table concept_ancestor (
  code_system_id integer not null,
  ancestor integer not null,
  descendant integer not null,
  primary key (code_system_id, ancestor, descendant)
);
create index concept_ancestor_up on concept_ancestor (code_system_id, descendant, ancestor);

create table concept_designation (
  code_system_id integer not null,
  ordinal integer not null,
  language text,
  use_system text,
  use_code text,
  use_display text,
  value text not null
);
create index concept_designation_concept on concept_designation (code_system_id, ordinal);

create table concept_property (
  code_system_id integer not null,
  ordinal integer not null,
  code text not null,
  -- The value as the content gave it ({ type, value }), for $lookup.
  value jsonb not null,
  -- The value as text (a Coding's code), for the `=`, `in` and `regex` filters of $expand.
  value_text text not null
);
create index concept_property_concept on concept_property (code_system_id, ordinal);
create index concept_property_value on concept_property (code_system_id, code, value_text);

create table concept_map (
  id integer generated always as identity primary key,
  url text not null,
  version text not null,
  name text not null,
  title text,
  source_value_set text,
  target_value_set text,
  -- The stored ConceptMap resource these elements came from; null when an importer loaded them.
  resource_id text,
  loaded_at timestamptz not null default clock_timestamp(),
  unique (url, version)
);
create index concept_map_current on concept_map (url, loaded_at desc, id desc);
create index concept_map_resource on concept_map (resource_id) where resource_id is not null;

create table concept_map_element (
  concept_map_id integer not null references concept_map (id) on delete cascade,
  source_system text not null,
  source_version text,
  source_code text not null,
  source_display text,
  target_system text,
  target_version text,
  target_code text,
  target_display text,
  equivalence text not null,
  comment text
);
create index concept_map_element_source on concept_map_element (source_system, source_code);
create index concept_map_element_target on concept_map_element (target_system, target_code);
create index concept_map_element_map on concept_map_element (concept_map_id);

-- Bumped in every transaction that changes terminology (a load, a stored CodeSystem, ValueSet or
-- ConceptMap written): cached expansions computed at an older revision are not served.
create table terminology_revision (
  singleton boolean primary key default true check (singleton),
  revision bigint not null
);
insert into terminology_revision (singleton, revision) values (true, 0);
