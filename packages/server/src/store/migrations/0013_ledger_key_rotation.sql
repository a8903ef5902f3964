-- Rotation of the node's checkpoint key (docs/audit-and-ledger.md "Rotating the node key").
--
-- `ledger_key` holds every key the log has signed with, numbered from 1; the highest number is the
-- current key. The private halves of retired keys stay sealed beside the public ones, so that a
-- node started from a backup taken before a rotation still opens its key; nothing signs with them.
alter table ledger_key drop constraint ledger_key_id_check;
alter table ledger_key add constraint ledger_key_id_positive check (id >= 1);

-- One row per rotation: a key-transition note, i.e. a checkpoint of this log (origin, size, root)
-- with one extension line naming the new key, signed by the retiring key (which authorises the
-- new one) and by the new key (which proves it is held). Witnesses follow this chain from the key
-- they were configured with; `ledger verify` checks each checkpoint under the key of its era.
create table ledger_key_transition (
  -- The key this transition introduces (2 for the first rotation).
  key_id smallint primary key references ledger_key (id),
  -- The checkpoint the transition was made at: old-key checkpoints end here, new-key ones start.
  tree_size bigint not null,
  note text not null,
  created_at timestamptz not null default transaction_timestamp()
);
