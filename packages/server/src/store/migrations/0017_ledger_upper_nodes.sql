-- The ledger stores only the upper levels of its Merkle tree (docs/audit-and-ledger.md "Storage").
--
-- `ledger_node` keeps the hash of every complete subtree of level ≥ 4 (16 leaves and more:
-- `STORED_NODE_MIN_LEVEL` in ledger/tree-nodes.ts). A node below that level — the level-0 leaf
-- hashes included — is the hash of at most 15 consecutive leaves and is recomputed from their
-- `ledger_leaf` rows wherever a proof, a root, the sequencer's frontier or `ledger verify` needs it.
-- That saves the sequencer almost two of its index inserts a leaf. The rows below level 4 that
-- databases sequenced before this migration hold are derivable, so they go: old and new databases
-- then look the same, and nothing reads them.
delete from ledger_node where level < 4;
