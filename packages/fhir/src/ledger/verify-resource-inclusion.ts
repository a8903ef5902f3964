/**
 * The client-side check of DESIGN.md D8: is this exact resource version in the node's log, under
 * a checkpoint the node signed and enough independent witnesses cosigned? Runs in a browser or in
 * Node (WebCrypto), and trusts nothing from the server but what the keys prove: the leaf is
 * rebuilt from the resource in hand, the root comes from the signed note, never from the answer.
 */
import { storedAttachmentForm } from '../attachments/attachment-blob-reference.ts';
import { mayHoldAttachmentData } from '../attachments/attachment-walk.ts';
import { isRecord } from '../resource.ts';
import { fromBase64, sha256, toHex, utf8 } from './bytes.ts';
import { canonicalJson } from './canonical-json.ts';
import { type Checkpoint, parseCheckpointBody } from './checkpoint.ts';
import { type LedgerLeaf, ledgerLeafHash } from './ledger-leaf.ts';
import { verifyInclusionProof } from './merkle-proof.ts';
import { type NoteVerifierKey, parseSignedNote, verifyNoteSignature } from './signed-note.ts';

/** The body of `GET /ledger/proof/inclusion`. */
export interface InclusionProofDocument {
  leaf: LedgerLeaf;
  leafIndex: number;
  treeSize: number;
  /** Base64 hashes, leaf to root (RFC 9162 §2.1.3.1). */
  proof: string[];
  /** The checkpoint note the proof is against, with its cosignatures. */
  checkpoint: string;
}

export interface LedgerTrust {
  /** The log's key (type 0x01), obtained out of band. */
  logKey: NoteVerifierKey;
  /** Witness keys (type 0x04) the client trusts, and how many of them must have cosigned. */
  witnesses: readonly NoteVerifierKey[];
  quorum: number;
}

export type InclusionVerdict =
  | { ok: true; checkpoint: Checkpoint; cosigners: string[] }
  | { ok: false; reason: string };

/** `content`: the resource version as read (or, for a tombstone, `tombstoneContent(…)`). */
export async function verifyResourceInclusion(
  content: unknown,
  document: InclusionProofDocument,
  trust: LedgerTrust,
): Promise<InclusionVerdict> {
  const fail = (reason: string): InclusionVerdict => ({ ok: false, reason });
  let note: ReturnType<typeof parseSignedNote>;
  let checkpoint: Checkpoint;
  try {
    note = parseSignedNote(document.checkpoint);
    checkpoint = parseCheckpointBody(note.body);
  } catch (error) {
    return fail(`unreadable checkpoint: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (checkpoint.origin !== trust.logKey.name) return fail(`checkpoint of another log: ${checkpoint.origin}`);
  if ((await verifyNoteSignature(note, trust.logKey)) === undefined)
    return fail('the log signature does not verify');
  const cosigners: string[] = [];
  for (const witness of trust.witnesses) {
    if ((await verifyNoteSignature(note, witness)) !== undefined) cosigners.push(witness.name);
  }
  if (cosigners.length < trust.quorum) {
    return fail(`only ${cosigners.length} of the ${trust.quorum} required witnesses cosigned`);
  }
  if (checkpoint.treeSize !== document.treeSize)
    return fail('the proof is for another tree size than its checkpoint');
  if (!(await recordsContent(content, document.leaf.contentSha256)))
    return fail('the content differs from the recorded content');
  const mismatch = describesOtherVersion(content, document.leaf);
  if (mismatch !== undefined) return fail(mismatch);
  let proof: Uint8Array[];
  try {
    proof = document.proof.map((hash) => fromBase64(hash));
  } catch {
    return fail('the proof is not base64');
  }
  const included = await verifyInclusionProof(
    document.leafIndex,
    checkpoint.treeSize,
    await ledgerLeafHash(document.leaf),
    proof,
    checkpoint.rootHash,
  );
  return included
    ? { ok: true, checkpoint, cosigners }
    : fail('the inclusion proof does not lead to the checkpoint root');
}

/**
 * The leaf commits to the version as stored. Since attachments are sealed, that is the content with
 * every `Attachment.data` (and `Binary.data`) replaced by a reference to the SHA-256 of its bytes
 * (attachment-blob-reference.ts), a function of the content the client holds; versions written
 * before were stored as read. Either match is sound: both are computed from the content in hand.
 */
async function recordsContent(content: unknown, contentSha256: string): Promise<boolean> {
  const hashOf = async (value: unknown): Promise<string> => toHex(await sha256(utf8(canonicalJson(value))));
  if ((await hashOf(content)) === contentSha256) return true;
  if (!isRecord(content) || !mayHoldAttachmentData(content)) return false;
  const stored = await storedAttachmentForm(content);
  return stored !== content && (await hashOf(stored)) === contentSha256;
}

/** The leaf must name this version and its time, not just carry its hash. */
function describesOtherVersion(content: unknown, leaf: LedgerLeaf): string | undefined {
  if (typeof content !== 'object' || content === null) return 'the content is not a resource';
  const resourceType: unknown = Reflect.get(content, 'resourceType');
  const id: unknown = Reflect.get(content, 'id');
  const meta: unknown = Reflect.get(content, 'meta');
  const tombstone = Reflect.get(content, 'deleted') === true;
  const versionId: unknown = tombstone ? Reflect.get(content, 'versionId') : metaField(meta, 'versionId');
  const lastUpdated: unknown = tombstone
    ? Reflect.get(content, 'lastUpdated')
    : metaField(meta, 'lastUpdated');
  if (leaf.kind === 'audit-event') {
    return leaf.reference === `AuditEvent/${String(id)}` ? undefined : `the leaf records ${leaf.reference}`;
  }
  if (leaf.reference !== `${String(resourceType)}/${String(id)}/_history/${String(versionId)}`) {
    return `the leaf records ${leaf.reference}`;
  }
  return leaf.recordedAt === lastUpdated ? undefined : 'the leaf time differs from meta.lastUpdated';
}

function metaField(meta: unknown, name: string): unknown {
  return typeof meta === 'object' && meta !== null ? Reflect.get(meta, name) : undefined;
}
