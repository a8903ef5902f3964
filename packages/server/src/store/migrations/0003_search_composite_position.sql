-- Composite search parameters and Location positions (search.html#composite, #special `near`),
-- written and cleared with the resource like the tables of 0001 and 0002.

-- One row per combination of component values taken from one item of the composite's expression
-- (one Observation.component, one useContext): the first component, always a token, then the
-- second in the columns of its type (the others null), then an optional third, a number.
-- The second component's columns are named as in the single-type tables (search_token,
-- search_number, search_quantity), so the same conditions compare them.
create table search_composite (
  resource_type text not null,
  id text not null,
  param text not null,
  -- first component (token)
  token_system text,
  token_code text not null,
  -- second component: token (system, code); number (value, low, high); quantity (all ten)
  system text,
  code text,
  unit text,
  value numeric,
  low numeric,
  high numeric,
  canonical_code text,
  canonical_value numeric,
  canonical_low numeric,
  canonical_high numeric,
  -- second component: date (inclusive range, UTC), string (folded) or uri (as written), reference
  date_low timestamptz,
  date_high timestamptz,
  text text,
  target_type text,
  target_id text,
  -- third component (MolecularSequence coordinates): a number
  third_value numeric
);
create index search_composite_lookup on search_composite (resource_type, param, token_code, token_system) include (id);
create index search_composite_resource on search_composite (resource_type, id);

-- WGS84 positions in decimal degrees. A search for places within a radius narrows to a
-- latitude band through the lookup index (longitude is checked from the index too), then computes
-- the great-circle distance on what remains.
create table search_position (
  resource_type text not null,
  id text not null,
  param text not null,
  latitude double precision not null,
  longitude double precision not null
);
create index search_position_lookup on search_position (resource_type, param, latitude, longitude) include (id);
create index search_position_resource on search_position (resource_type, id);
