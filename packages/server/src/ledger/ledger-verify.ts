/**
 * `concordia ledger verify`: recomputes the ledger from the rows it records and reports exactly
 * which entries differ. Nothing stored is taken on trust except what the node's key signed:
 *
 * 1. leaf by leaf, in tree order: the recorded row (`resource_history`, `audit_event`, or an
 *    access-log batch and each of its rows, verify-access-batches.ts) is re-hashed (canonical JSON → SHA-256) and compared with its entry (altered content, missing
 *    row); the entry is re-hashed into a leaf and compared with the stored leaf hash (altered or
 *    reordered leaf, leaf without entry);
 * 2. the tree is rebuilt from the recomputed leaves (a compact range, O(log n) memory): every
 *    stored subtree hash is compared, and at each checkpoint's size the rebuilt root is compared
 *    with the root the node signed (after checking that signature);
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
import { LEAF_COLUMNS, readQueuedEntry, readSequencedLeaf, type SequencedLeaf } from './ledger-leaves.ts';
import { type LedgerSigner, ledgerPublicKeys } from './node-key.ts';
import { EMPTY_TREE_HASH, leafHash, nodeHash } from './tree-hashes.ts';
import { sequencedTreeSize } from './tree-nodes.ts';
import { unrecordedAccessRows, verifyAccessBatches } from './verify-access-batches.ts';

export type LedgerFindingKind =
  | 'altered-content' // the row's content no longer hashes to what its entry recorded
  | 'missing-row' // an entry whose row is gone
  | 'unrecorded-row' // a row no entry records (inserted outside the write path)
  | 'altered-leaf' // the entry no longer hashes to the leaf stored at its index
  | 'reordered-leaf' // the entry hashes to the leaf stored at another index
  | 'missing-entry' // a stored leaf that no entry accounts for
  | 'altered-node' // a stored subtree hash differs from the one rebuilt from the entries
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
  const storedSize = await sequencedTreeSize(db);
  const maxIndex = await maxLeafIndex(db);
  const treeSize = Math.max(storedSize, maxIndex + 1);
  const checkpoints = await readCheckpoints(db, options.signer, findings);
  options.progress?.started(treeSize);

  const stack: { level: number; hash: Buffer }[] = [];
  const mismatches: LeafMismatch[] = [];
  let checkpointCursor = 0;
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
      const storedLeaf = stored.get(`0/${index}`);
      let leaf: Buffer;
      if (entry === undefined) {
        findings.push({
          kind: 'missing-entry',
          leafIndex: index,
          detail: 'the tree has a leaf here but no ledger entry accounts for it',
        });
        // Go on with the stored leaf so that one removal is reported once, not as every later node.
        leaf = storedLeaf ?? Buffer.alloc(32);
      } else {
        leaf = leafHash(entry.leaf);
        if (storedLeaf === undefined || !leaf.equals(storedLeaf)) {
          mismatches.push({
            index,
            reference: entry.leaf.reference,
            leaf,
            hasStoredLeaf: storedLeaf !== undefined,
          });
          // Reported after the pass; the rebuild goes on with the stored leaf so that the nodes above it
          // (checked against it) are not all reported again. The chain stays complete: rows →
          // entries → stored leaves → stored nodes → signed roots.
          if (storedLeaf !== undefined) leaf = storedLeaf;
        }
      }
      // Append to the compact range, comparing each completed subtree with the stored one.
      let node = { level: 0, hash: leaf };
      let position = index;
      for (let top = stack.at(-1); top !== undefined && top.level === node.level; top = stack.at(-1)) {
        stack.pop();
        position = Math.floor(position / 2);
        node = { level: node.level + 1, hash: nodeHash(top.hash, node.hash) };
        const storedNode = stored.get(`${node.level}/${position}`);
        if (storedNode === undefined || !storedNode.equals(node.hash)) {
          findings.push({
            kind: 'altered-node',
            detail: `subtree hash at level ${node.level}, position ${position} differs from the rebuilt one`,
          });
        }
      }
      stack.push(node);
      const size = index + 1;
      for (
        ;
        checkpointCursor < checkpoints.length && (checkpoints[checkpointCursor]?.treeSize ?? 0) <= size;
        checkpointCursor += 1
      ) {
        const checkpoint = checkpoints[checkpointCursor];
        if (checkpoint === undefined || checkpoint.treeSize !== size) continue;
        if (!foldStack(stack).equals(checkpoint.rootHash)) {
          findings.push({
            kind: 'checkpoint-mismatch',
            detail: `the rebuilt root of size ${size} differs from the signed checkpoint's root`,
          });
        }
      }
    }
    options.progress?.advanced(end);
  }
  for (const checkpoint of checkpoints.slice(checkpointCursor)) {
    findings.push({
      kind: 'checkpoint-mismatch',
      detail: `a checkpoint of size ${checkpoint.treeSize} was signed but the tree has only ${treeSize} leaves`,
    });
  }
  await classifyLeafMismatches(db, mismatches, findings);
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

interface LeafMismatch {
  index: number;
  reference: string;
  /** The leaf hash recomputed from the entry. */
  leaf: Buffer;
  hasStoredLeaf: boolean;
}

/** An entry that hashes to a leaf stored at another index was moved (reordered); otherwise altered. */
async function classifyLeafMismatches(
  db: SqlExecutor,
  mismatches: readonly LeafMismatch[],
  findings: LedgerFinding[],
): Promise<void> {
  if (mismatches.length === 0) return;
  const rows = await db.query(
    sql`select position, encode(hash, 'hex') as hash from ledger_node
        where level = 0 and encode(hash, 'hex') = any(${mismatches.map((mismatch) => mismatch.leaf.toString('hex'))}::text[])`,
  );
  const storedAt = new Map(rows.map((row) => [readString(row, 'hash'), readNumber(row, 'position')]));
  for (const { index, reference, leaf, hasStoredLeaf } of mismatches) {
    const elsewhere = storedAt.get(leaf.toString('hex'));
    findings.push(
      elsewhere !== undefined && elsewhere !== index
        ? {
            kind: 'reordered-leaf',
            leafIndex: index,
            reference,
            detail: `the entry is at leaf ${index} but the tree holds it at leaf ${elsewhere}`,
          }
        : {
            kind: 'altered-leaf',
            leafIndex: index,
            reference,
            detail: hasStoredLeaf
              ? 'the entry (kind, reference, time or content hash) no longer hashes to the stored leaf'
              : 'no stored leaf hash',
          },
    );
  }
}

function foldStack(stack: readonly { hash: Buffer }[]): Buffer {
  let root: Buffer | undefined;
  for (let index = stack.length - 1; index >= 0; index -= 1) {
    const hash = stack[index]?.hash;
    if (hash !== undefined) root = root === undefined ? hash : nodeHash(hash, root);
  }
  if (root === undefined) throw new Error('empty tree');
  return root;
}

async function maxLeafIndex(db: SqlExecutor): Promise<number> {
  const [row] = await db.query(sql`select coalesce(max(leaf_index), -1) as last from ledger_leaf`);
  return row === undefined ? -1 : readNumber(row, 'last');
}

/**
 * Stored nodes completed by leaves [start, end) — whose last leaf is in that page — keyed
 * `level/position`: one index range per level.
 */
async function storedNodes(db: SqlExecutor, start: number, end: number): Promise<Map<string, Buffer>> {
  const levels: number[] = [];
  const from: number[] = [];
  const to: number[] = [];
  for (let level = 0; 2 ** level <= end; level += 1) {
    levels.push(level);
    from.push(Math.floor(start / 2 ** level));
    to.push(Math.floor(end / 2 ** level));
  }
  const rows = await db.query(
    sql`select n.level, n.position, encode(n.hash, 'hex') as hash
        from unnest(${levels}::smallint[], ${from}::bigint[], ${to}::bigint[]) as l(level, first, past)
        join ledger_node n on n.level = l.level and n.position >= l.first and n.position < l.past`,
  );
  const nodes = new Map<string, Buffer>();
  for (const row of rows)
    nodes.set(
      `${readNumber(row, 'level')}/${readNumber(row, 'position')}`,
      Buffer.from(readString(row, 'hash'), 'hex'),
    );
  return nodes;
}

interface SignedRoot {
  treeSize: number;
  rootHash: Buffer;
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
