/**
 * What `ledger verify` reports (ledger-verify.ts, verify-tree.ts): one finding per difference,
 * named where it was made — the row, the entry, the stored subtree or the signed root.
 */
export type LedgerFindingKind =
  | 'altered-content' // the row's content no longer hashes to what its entry recorded
  | 'missing-row' // an entry whose row is gone
  | 'unrecorded-row' // a row no entry records (inserted outside the write path)
  | 'altered-leaf' // entries no longer hash to the stored subtree above them, which the tree above still confirms
  | 'reordered-leaf' // two entries swapped places: swapping them back gives the stored subtree hashes
  | 'missing-entry' // a leaf index below the tree size that no entry accounts for
  | 'altered-node' // a stored subtree hash that differs from what is beneath it and from what was built on it
  | 'checkpoint-mismatch' // the rebuilt root differs from a signed checkpoint's root
  | 'bad-checkpoint-signature' // a stored checkpoint the node's key (of its era) did not sign
  | 'bad-key-transition' // a key rotation's transition note that does not verify, or a key no transition announced
  | 'altered-current' // a current resource differs from its history row
  | 'altered-index'; // the access log's patient index disagrees with the access row

export interface LedgerFinding {
  kind: LedgerFindingKind;
  /** The row concerned, when there is one (`Patient/1/_history/2`, `AuditEvent/…`). */
  reference?: string;
  leafIndex?: number;
  detail: string;
}
