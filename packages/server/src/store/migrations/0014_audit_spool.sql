-- The access-log spool (audit/access-spool.ts, docs/audit-and-ledger.md "When a read is answered"):
-- a node answers a read once its access-log row is appended to a local spool file, and commits the
-- rows in batches. Each batch says which lines of which spool file it carried, so that the next
-- start after a crash stores exactly the lines no batch holds (audit/spool-recovery.ts): none lost,
-- none twice. `spool_lines` lists the line numbers as ranges, flattened: {first, last, first, last…}.
alter table audit_access_batch add column spool text;
alter table audit_access_batch add column spool_lines bigint[];
alter table audit_access_batch add constraint audit_access_batch_spool_lines
  check ((spool is null) = (spool_lines is null) and coalesce(cardinality(spool_lines) % 2 = 0, true));
create index audit_access_batch_spool on audit_access_batch (spool) where spool is not null;

-- Names this database (one schema of it) for the spools: a node keeps its spool files under
-- `<spool dir>/<id>/`, so that recovery never stores a spool's rows in another database.
create table audit_spool_database (id text primary key);
insert into audit_spool_database values (md5(random()::text || clock_timestamp()::text));
