-- Full-text index of `_text` (the narrative) and `_content` (every string of the resource),
-- search.html#text and #content, written and cleared with the resource like the other index tables.
-- One row per resource. The indexer folds case and accents in Node (normalizeString) and the
-- vectors use the language-neutral `simple` configuration: no stemming, no stop words, the same on
-- PostgreSQL and PGlite (which has no unaccent extension).
create table search_text (
  resource_type text not null,
  id text not null,
  -- null when the resource has no narrative
  narrative tsvector,
  content tsvector not null
);
create index search_text_narrative on search_text using gin (narrative);
create index search_text_content on search_text using gin (content);
create index search_text_resource on search_text (resource_type, id);
