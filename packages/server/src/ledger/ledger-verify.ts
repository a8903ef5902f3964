/**
 * `concordia ledger verify`: recomputes the ledger from the rows it records and reports exactly
 * which entries differ. Nothing stored is taken on trust except what the node's key signed:
 *
 * 1. leaf by leaf, in tree order: the recorded row (`resource_history`, `audit_event`, or an
 *    access-log batch and each of its rows, verify-access-batches.ts) is re-hashed (canonical JSON
 *    → SHA-256) and compared with its entry (altered content, missing row, leaf without entry);
 * 2. the entries are re-hashed into leaves and the tree is rebuilt from them (verify-tree.ts): every
 *    stored subtree hash is compared with what is beneath it, and at each checkpoint's size the
 *    root is compared with the root the node signed (after checking that signature); a difference
 *    is located at the entries (altered or reordered leaves), the stored node, or the signed root;
 * 3. rows without an entry (inserted behind the application's back), entries still waiting for
 *    the sequencer, and current resources that differ from their history row.
 */
import {
  canonicalJson,
  ED25519_NOTE_SIGNATURE,
  type LedgerLeaf,
  type NoteVerifierKey,
  parseSignedNote,
  tombstoneContent,
  verifyNoteSignature,
} from '@concordia/fhir';
import type { Row, SqlExecutor } from '../store/database.ts';
import { readNumber, readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { keyTransitionNotes, verifyKeyTransition } from './key-rotation.ts';
import { contentSha256 } from './ledger-entries.ts';
import type { LedgerFinding } from './ledger-findings.ts';
import { LEAF_COLUMNS, readQueuedEntry, readSequencedLeaf, type SequencedLeaf } from './ledger-leaves.ts';
import { type LedgerSigner, ledgerPublicKeys } from './node-key.ts';
import { EMPTY_TREE_HASH, leafHash } from './tree-hashes.ts';
import { sequencedTreeSize } from './tree-nodes.ts';
import { unrecordedAccessRows, verifyAccessBatches } from './verify-access-batches.ts';
import { type SignedRoot, storedNodes, TreeRebuild } from './verify-tree.ts';

export type { LedgerFinding, LedgerFindingKind } from './ledger-findings.ts';

export interface LedgerVerifyReport {
  treeSize: number;
  leavesChecked: number;
  /** Entries committed but not yet sequenced (checked against their rows, not yet in the tree). */
  pendingEntries: number;
  checkpointsChecked: number;
  findings: LedgerFinding[];
}

export interface VerifyProgress {
  started(total: number): void;
  advanced(done: number): void;
  finished(): void;
}

const PAGE = 2000;

export async function verifyLedger(
  db: SqlExecutor,
  options: { signer: LedgerSigner; progress?: VerifyProgress; pageSize?: number },
): Promise<LedgerVerifyReport> {
  const pageSize = options.pageSize ?? PAGE;
  const findings: LedgerFinding[] = [];
  const treeSize = await sequencedTreeSize(db);
  const checkpoints = await readCheckpoints(db, options.signer, findings);
  options.progress?.started(treeSize);

  const tree = new TreeRebuild(checkpoints, findings);
  for (let start = 0; start < treeSize; start += pageSize) {
    const end = Math.min(start + pageSize, treeSize);
    const rows = await db.query(sql`select leaf_index, ${LEAF_COLUMNS} from ledger_leaf
        where leaf_index >= ${start} and leaf_index < ${end} order by leaf_index`);
    const stored = await storedNodes(db, start, end);
    const byIndex = new Map<number, SequencedLeaf>();
    for (const row of rows) {
      const entry = readSequencedLeaf(row);
      byIndex.set(entry.leafIndex, entry);
    }
    await checkContents(db, [...byIndex.values()], findings);
    for (let index = start; index < end; index += 1) {
      const entry = byIndex.get(index);
      if (entry === undefined) {
        findings.push({
          kind: 'missing-entry',
          leafIndex: index,
          detail: 'the tree has a leaf here but no ledger entry accounts for it',
        });
      }
      tree.append(
        entry === undefined
          ? { index, hash: Buffer.alloc(32), missing: true }
          : { index, hash: leafHash(entry.leaf), reference: entry.leaf.reference, missing: false },
        stored,
      );
    }
    options.progress?.advanced(end);
  }
  tree.finish();
  const pending = await checkPending(db, findings);
  await findUnrecordedRows(db, findings);
  await checkCurrentResources(db, findings);
  options.progress?.finished();
  return {
    treeSize,
    leavesChecked: treeSize,
    pendingEntries: pending,
    checkpointsChecked: checkpoints.length,
    findings,
  };
}

/**
 * Stored checkpoints in size order, each signature checked with the key of its era, and the roots
 * of the key transitions: key 1 signed sizes up to the first transition's, each later key from its
 * transition's size to the next one's (both ends: the transition checkpoint itself was signed by
 * the old key). The chain is followed from key 1, each transition verified under the key before
 * it, and must end at the key the node signs with now.
 */
async function readCheckpoints(
  db: SqlExecutor,
  signer: LedgerSigner,
  findings: LedgerFinding[],
): Promise<SignedRoot[]> {
  const roots: SignedRoot[] = [];
  const eras = await keyEras(db, signer, findings, roots);
  const rows = await db.query(sql`select tree_size, note from ledger_checkpoint order by tree_size`);
  for (const row of rows) {
    const treeSize = readNumber(row, 'tree_size');
    const note = readString(row, 'note');
    let verified = false;
    try {
      // The key is what proves the signature; the name is the origin the note was signed under
      // (CONCORDIA_LEDGER_ORIGIN at that time), so a later change of base URL does not orphan it.
      const origin = note.slice(0, note.indexOf('\n'));
      const parsed = parseSignedNote(note);
      for (const era of eras) {
        if (treeSize < era.from || treeSize > era.to) continue;
        const key: NoteVerifierKey = { name: origin, publicKey: era.publicKey, type: ED25519_NOTE_SIGNATURE };
        if ((await verifyNoteSignature(parsed, key)) !== undefined) verified = true;
      }
    } catch {
      verified = false;
    }
    const [, size, root] = note.split('\n');
    if (!verified || Number(size) !== treeSize || root === undefined) {
      findings.push({
        kind: 'bad-checkpoint-signature',
        detail: `the checkpoint of size ${treeSize} is not signed by the node's key of its era`,
      });
      continue;
    }
    // The root is taken from the signed note, not from the `root_hash` column beside it.
    roots.push({ treeSize, rootHash: Buffer.from(root, 'base64') });
  }
  return roots.sort((left, right) => left.treeSize - right.treeSize);
}

interface KeyEra {
  publicKey: Uint8Array;
  /** Checkpoint sizes this key may have signed, both inclusive. */
  from: number;
  to: number;
}

async function keyEras(
  db: SqlExecutor,
  signer: LedgerSigner,
  findings: LedgerFinding[],
  roots: SignedRoot[],
): Promise<KeyEra[]> {
  const keys = await ledgerPublicKeys(db);
  const first = keys.get(1);
  if (first === undefined)
    return [{ publicKey: signer.verifierKey.publicKey, from: 0, to: Number.POSITIVE_INFINITY }];
  const eras: KeyEra[] = [{ publicKey: first, from: 0, to: Number.POSITIVE_INFINITY }];
  for (const { keyNumber, note } of await keyTransitionNotes(db)) {
    const era = eras.at(-1);
    if (era === undefined) break;
    const origin = note.slice(0, note.indexOf('\n'));
    const verdict = await verifyKeyTransition(note, {
      name: origin,
      publicKey: era.publicKey,
      type: ED25519_NOTE_SIGNATURE,
    });
    const announced = keys.get(keyNumber);
    const bad = (detail: string) =>
      findings.push({ kind: 'bad-key-transition', reference: `LedgerKey/${keyNumber}`, detail });
    if (!verdict.ok) {
      bad(`the transition to key ${keyNumber} does not verify: ${verdict.reason}`);
      continue;
    }
    if (announced === undefined || !Buffer.from(announced).equals(verdict.transition.newKey.publicKey)) {
      bad(`the transition to key ${keyNumber} announces another key than the one stored as key ${keyNumber}`);
      continue;
    }
    const { treeSize, rootHash } = verdict.transition.checkpoint;
    era.to = treeSize;
    eras.push({ publicKey: announced, from: treeSize, to: Number.POSITIVE_INFINITY });
    // Signed by the old key like a checkpoint: its root is compared with the rebuilt tree too (the
    // rebuild starts at size 1, so the empty tree's root is compared here).
    if (treeSize > 0) roots.push({ treeSize, rootHash: Buffer.from(rootHash) });
    else if (!EMPTY_TREE_HASH.equals(rootHash))
      bad("the transition at size 0 does not have the empty tree's root");
  }
  const last = eras.at(-1);
  if (last !== undefined && !Buffer.from(last.publicKey).equals(signer.verifierKey.publicKey)) {
    findings.push({
      kind: 'bad-key-transition',
      detail: "the node's current key is not the key the chain of key transitions ends at",
    });
  }
  return eras;
}

/** Compares each entry's content hash with its row's; reports rows that are gone. */
async function checkContents(
  db: SqlExecutor,
  entries: readonly { leaf: LedgerLeaf; leafIndex?: number }[],
  findings: LedgerFinding[],
): Promise<void> {
  const versions = entries.filter((entry) => entry.leaf.kind === 'resource-version');
  const audits = entries.filter((entry) => entry.leaf.kind === 'audit-event');
  const rowHashes = new Map<string, string>();
  if (versions.length > 0) {
    const rows = await db.query(
      sql`select h.resource_type, h.id, h.version_id, h.last_updated, h.content, r.reference
          from unnest(${versions.map((entry) => entry.leaf.reference)}::text[]) as r(reference)
          join resource_history h
            on h.resource_type = split_part(r.reference, '/', 1) and h.id = split_part(r.reference, '/', 2)
            and h.version_id::text = split_part(r.reference, '/', 4)`,
    );
    for (const row of rows) rowHashes.set(readString(row, 'reference'), historyRowHash(row));
  }
  if (audits.length > 0) {
    const rows = await db.query(
      sql`select a.id, a.content::text as content from audit_event a
          where a.id = any(${audits.map((entry) => entry.leaf.reference.slice('AuditEvent/'.length))}::text[])`,
    );
    for (const row of rows)
      rowHashes.set(`AuditEvent/${readString(row, 'id')}`, hashOfJson(readString(row, 'content')));
  }
  findings.push(
    ...(await verifyAccessBatches(
      db,
      entries
        .filter((entry) => entry.leaf.kind === 'audit-access-batch')
        .map((entry) => ({
          reference: entry.leaf.reference,
          contentSha256: entry.leaf.contentSha256,
          ...(entry.leafIndex !== undefined ? { leafIndex: entry.leafIndex } : {}),
        })),
    )),
  );
  for (const entry of entries) {
    // An access batch is checked row by row above.
    if (entry.leaf.kind === 'audit-access-batch') continue;
    const actual = rowHashes.get(entry.leaf.reference);
    const base = {
      reference: entry.leaf.reference,
      ...(entry.leafIndex !== undefined ? { leafIndex: entry.leafIndex } : {}),
    };
    if (actual === undefined)
      findings.push({ kind: 'missing-row', ...base, detail: 'the recorded row no longer exists' });
    else if (actual !== entry.leaf.contentSha256)
      findings.push({
        kind: 'altered-content',
        ...base,
        detail: 'the row no longer hashes to the recorded content hash',
      });
  }
}

function historyRowHash(row: Row): string {
  const content = readOptionalString(row, 'content');
  if (content !== undefined) return hashOfJson(content);
  return contentSha256(
    canonicalJson(
      tombstoneContent(
        readString(row, 'resource_type'),
        readString(row, 'id'),
        readNumber(row, 'version_id'),
        readString(row, 'last_updated'),
      ),
    ),
  );
}

function hashOfJson(text: string): string {
  try {
    return contentSha256(canonicalJson(JSON.parse(text)));
  } catch {
    // Content that is not even JSON any more is altered by definition.
    return 'unreadable';
  }
}

async function checkPending(db: SqlExecutor, findings: LedgerFinding[]): Promise<number> {
  let pending = 0;
  for (let after = 0; ; ) {
    const rows = await db.query(sql`select entry_id, ${LEAF_COLUMNS} from ledger_entry
        where entry_id > ${after} order by entry_id limit ${PAGE}`);
    if (rows.length === 0) return pending;
    const entries = rows.map(readQueuedEntry);
    await checkContents(db, entries, findings);
    pending += entries.length;
    after = entries.at(-1)?.entryId ?? after;
  }
}

async function findUnrecordedRows(db: SqlExecutor, findings: LedgerFinding[]): Promise<void> {
  const versions = await db.query(
    sql`select h.resource_type || '/' || h.id || '/_history/' || h.version_id as reference from resource_history h
        where not exists (select from ledger_leaf l
            where l.reference = h.resource_type || '/' || h.id || '/_history/' || h.version_id)
          and not exists (select from ledger_entry e
            where e.reference = h.resource_type || '/' || h.id || '/_history/' || h.version_id)
        order by h.seq`,
  );
  const audits = await db.query(
    sql`select 'AuditEvent/' || a.id as reference from audit_event a
        where not exists (select from ledger_leaf l where l.reference = 'AuditEvent/' || a.id)
          and not exists (select from ledger_entry e where e.reference = 'AuditEvent/' || a.id)
        order by a.recorded, a.id`,
  );
  for (const row of [...versions, ...audits]) {
    findings.push({
      kind: 'unrecorded-row',
      reference: readString(row, 'reference'),
      detail: 'no ledger entry records this row',
    });
  }
  findings.push(...(await unrecordedAccessRows(db)));
}

/** `resource` is a copy of each resource's latest history row: it must be exactly that row. */
async function checkCurrentResources(db: SqlExecutor, findings: LedgerFinding[]): Promise<void> {
  const rows = await db.query(
    sql`select r.resource_type || '/' || r.id || '/_history/' || r.version_id as reference,
          (h.id is null) as no_history
        from resource r
        left join resource_history h on h.resource_type = r.resource_type and h.id = r.id and h.version_id = r.version_id
        where h.id is null or h.content is distinct from r.content or h.deleted <> r.deleted
          or h.last_updated <> r.last_updated
          or r.version_id <> (select max(version_id) from resource_history l where l.resource_type = r.resource_type and l.id = r.id)`,
  );
  for (const row of rows) {
    findings.push({
      kind: 'altered-current',
      reference: readString(row, 'reference'),
      detail:
        row.no_history === true
          ? 'the current resource has no history row of its version'
          : 'the current resource differs from its latest history row',
    });
  }
}
