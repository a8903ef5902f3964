-- Search index rows for the date, number, quantity and uri parameters (search.html#date, #number,
-- #quantity, #uri), written and cleared with the resource like the tables of 0001.
-- Values are ranges: a search compares its own range with [low, high] (prefixes eq, lt, sa, ap, …),
-- so the lookup indexes lead with (resource_type, param) and then the range bounds.

-- Inclusive bounds in UTC; '-infinity'/'infinity' for the open ends of a Period.
create table search_date (
  resource_type text not null,
  id text not null,
  param text not null,
  low timestamptz not null,
  high timestamptz not null
);
create index search_date_lookup on search_date (resource_type, param, low, high) include (id);
create index search_date_resource on search_date (resource_type, id);

-- [low, high) around the value, ± half its last significant digit; low = high for integers.
create table search_number (
  resource_type text not null,
  id text not null,
  param text not null,
  value numeric not null,
  low numeric not null,
  high numeric not null
);
create index search_number_lookup on search_number (resource_type, param, low, high) include (id);
create index search_number_resource on search_number (resource_type, id);

-- As written (system, code, value) and, for UCUM units, in canonical base units; `-Infinity` /
-- `Infinity` bounds for a comparator (`<5`).
create table search_quantity (
  resource_type text not null,
  id text not null,
  param text not null,
  system text,
  code text,
  unit text,
  value numeric not null,
  low numeric not null,
  high numeric not null,
  canonical_code text,
  canonical_value numeric,
  canonical_low numeric,
  canonical_high numeric
);
create index search_quantity_canonical on search_quantity (resource_type, param, canonical_code, canonical_value)
  include (id) where canonical_code is not null;
create index search_quantity_coded on search_quantity (resource_type, param, system, code, value) include (id);
create index search_quantity_resource on search_quantity (resource_type, id);

-- text_pattern_ops serves `=` and the prefix `like` of `:below`.
create table search_uri (
  resource_type text not null,
  id text not null,
  param text not null,
  value text not null
);
create index search_uri_lookup on search_uri (resource_type, param, value text_pattern_ops) include (id);
create index search_uri_resource on search_uri (resource_type, id);
