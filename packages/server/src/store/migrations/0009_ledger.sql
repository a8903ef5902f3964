-- The ledger (DESIGN.md D8, docs/audit-and-ledger.md): an append-only Merkle log (RFC 9162 §2.1)
-- over every resource version and every AuditEvent.
--
-- Writers only append `ledger_entry` rows, in the transaction of the write they record. Those
-- transactions commit in any order, so an entry's place in the tree is not its entry_id: one
-- sequencer at a time (an advisory lock) moves committed entries from this queue into
-- `ledger_leaf` with the next leaf indexes and stores the hashes of the tree nodes they complete
-- (Trillian's "unsequenced" queue). The write path pays for one row and one primary-key entry.

-- The queue: entries committed but not yet in the tree. Small whatever the size of the log.
create table ledger_entry (
  -- Order of insertion (not of commit): the order the sequencer takes committed entries in.
  entry_id bigint generated always as identity primary key,
  kind text not null check (kind in ('resource-version', 'audit-event')),
  -- `Patient/1/_history/2`, `AuditEvent/<id>`: the row this entry stands for.
  reference text not null,
  -- SHA-256 of the UTF-8 RFC 8785 canonical JSON of the recorded content.
  content_sha256 bytea not null check (octet_length(content_sha256) = 32),
  -- The writing transaction's timestamp at millisecond precision (= meta.lastUpdated of a version).
  recorded_at timestamptz not null default date_trunc('milliseconds', transaction_timestamp())
);

-- The sequenced entries, one per leaf, in tree order: what leaf `leaf_index` of the tree commits to.
create table ledger_leaf (
  leaf_index bigint primary key,
  kind text not null check (kind in ('resource-version', 'audit-event')),
  reference text not null,
  content_sha256 bytea not null check (octet_length(content_sha256) = 32),
  recorded_at timestamptz not null
);
-- Inclusion proofs are asked for by row (`?resource=Patient/1&version=2`).
create index ledger_leaf_reference on ledger_leaf (reference);

-- Hashes of the complete subtrees (RFC 9162 §2.1.1): the node at `level` L and `position` i is the
-- MTH of leaves [i·2^L, (i+1)·2^L). Level 0 holds the leaf hashes. Every proof and every root is
-- assembled from O(log n) of these rows; nothing is ever rehashed from the leaves.
create table ledger_node (
  level smallint not null,
  position bigint not null,
  hash bytea not null check (octet_length(hash) = 32),
  primary key (level, position)
);

-- Signed tree heads: the checkpoint note (C2SP tlog-checkpoint) exactly as signed by the node.
create table ledger_checkpoint (
  tree_size bigint primary key,
  root_hash bytea not null check (octet_length(root_hash) = 32),
  signed_at timestamptz not null default transaction_timestamp(),
  note text not null
);

-- Witness cosignatures (C2SP tlog-cosignature) on a checkpoint, each verified before it is stored.
create table ledger_cosignature (
  tree_size bigint not null references ledger_checkpoint (tree_size),
  witness_name text not null,
  -- The signature line's 4-byte key hash and the 8-byte timestamp + 64-byte Ed25519 signature.
  key_hash bytea not null,
  signed_at bigint not null,
  signature bytea not null,
  received_at timestamptz not null default transaction_timestamp(),
  primary key (tree_size, witness_name)
);

-- The node's Ed25519 checkpoint key, its private half sealed with the identity key (secret-box.ts),
-- like the token signing keys: a database dump alone does not let anyone sign checkpoints.
-- One key per log; the key *name* in the notes is the configured origin.
create table ledger_key (
  id smallint primary key check (id = 1),
  public_key bytea not null,
  sealed_private_key text not null,
  created_at timestamptz not null default transaction_timestamp()
);
