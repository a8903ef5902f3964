/**
 * `concordia witness`: one round of witnessing a Concordia log (DESIGN.md D8), as the
 * transparency-dev witnesses do for Certificate Transparency and Go's checksum database:
 *
 * 1. fetch the log's checkpoint and verify the log's signature with the key configured out of band
 *    — or, after the log rotated its key, with the key that a chain of key-transition notes
 *    (key-rotation.ts), each signed by the key trusted before it, leads to; the witness then
 *    trusts that key (its state directory) and never the retired one again;
 * 2. compare with the last checkpoint this witness accepted (its state directory): a smaller tree
 *    or another root for the same size is a rollback or a fork; a larger tree must come with a
 *    consistency proof (RFC 9162 §2.1.4) that verifies;
 * 3. remember the new checkpoint, cosign it (C2SP tlog-cosignature) and POST the cosignature.
 *
 * A log that fails 1 or 2 gets no cosignature: the round ends with an alert, the state is kept as
 * it was, and the command exits non-zero so that the scheduler that runs it raises the alarm.
 * The first checkpoint ever seen is accepted as it is (trust on first use).
 */
import { sign } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Checkpoint,
  cosignedMessage,
  formatVerifierKey,
  type NoteVerifierKey,
  noteKeyId,
  noteSignatureLine,
  parseCheckpointBody,
  parseSignedNote,
  parseVerifierKey,
  type SignedNote,
  verifyConsistencyProof,
  verifyNoteSignature,
} from '@concordia/fhir';
import { verifyKeyTransition } from './key-rotation.ts';
import { EMPTY_TREE_HASH } from './tree-hashes.ts';
import { type WitnessKey, witnessVerifierKey } from './witness-key.ts';

export interface HttpAnswer {
  status: number;
  body: string;
}

/** The HTTP client the witness uses (fetch in the CLI, `app.inject` in tests). */
export type WitnessHttp = (request: {
  method: 'GET' | 'POST';
  url: string;
  body?: string;
}) => Promise<HttpAnswer>;

export interface WitnessOptions {
  /** Where the log's door is: the server's base URL (`https://hie.example.org`). */
  logUrl: string;
  logKey: NoteVerifierKey;
  key: WitnessKey;
  stateDir: string;
  http: WitnessHttp;
  /** Seconds since the epoch, for the cosignature timestamp. */
  now?: () => number;
}

export type WitnessOutcome =
  | {
      kind: 'cosigned';
      treeSize: number;
      previousSize?: number;
      /** Log keys this round started trusting by following key transitions, oldest first. */
      newLogKeys?: string[];
      accepted: boolean;
      answer: string;
    }
  | { kind: 'alert'; reason: string }
  | { kind: 'failed'; reason: string };

/** A round that cosigns nothing: the log misbehaved (alert) or could not be asked (failed). */
type Refusal = Exclude<WitnessOutcome, { kind: 'cosigned' }>;

export async function witnessOnce(options: WitnessOptions): Promise<WitnessOutcome> {
  const base = options.logUrl.replace(/\/+$/, '');
  const fetched = await options.http({ method: 'GET', url: `${base}/ledger/checkpoint` });
  if (fetched.status !== 200)
    return { kind: 'failed', reason: `GET /ledger/checkpoint answered ${fetched.status}` };
  let checkpoint: Checkpoint;
  let note: SignedNote;
  try {
    note = parseSignedNote(fetched.body);
    checkpoint = parseCheckpointBody(note.body);
  } catch (error) {
    return {
      kind: 'alert',
      reason: `unreadable checkpoint: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  if (checkpoint.origin !== options.logKey.name)
    return { kind: 'alert', reason: `the checkpoint is for another log: ${checkpoint.origin}` };

  const stateBase = join(options.stateDir, checkpoint.origin.replace(/[^A-Za-z0-9.-]/g, '_'));
  const statePath = `${stateBase}.checkpoint`;
  const keyPath = `${stateBase}.vkey`;
  const stored = await readText(keyPath);
  const trusted = stored === undefined ? options.logKey : await parseVerifierKey(stored);
  const seenBefore = await readState(statePath);

  const signer = await signingKey(base, options.http, note, trusted, seenBefore, options.logKey);
  if (signer.kind !== 'found') return signer;
  const { key, followed, previous } = signer;
  if (previous !== undefined) {
    const verdict = await checkConsistency(base, options.http, previous, checkpoint);
    if (verdict !== undefined) return verdict;
  }
  // Remember what was verified before telling anyone, so a crash never forgets a seen tree; the
  // key first, so that a crash in between leaves a state the next round still accepts.
  if (followed.length > 0) await writeState(options.stateDir, keyPath, `${await formatVerifierKey(key)}\n`);
  await writeState(options.stateDir, statePath, note.body);

  const timestamp = Math.floor(options.now?.() ?? Date.now() / 1000);
  const signature = sign(null, cosignedMessage(note.body, timestamp), options.key.privateKey);
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(BigInt(timestamp));
  const line = noteSignatureLine(
    options.key.name,
    await noteKeyId(witnessVerifierKey(options.key)),
    Buffer.concat([stamp, signature]),
  );
  const posted = await options.http({
    method: 'POST',
    url: `${base}/ledger/cosignature`,
    body: `${note.body}\n${line}`,
  });
  return {
    kind: 'cosigned',
    treeSize: checkpoint.treeSize,
    ...(seenBefore !== undefined ? { previousSize: seenBefore.treeSize } : {}),
    ...(followed.length > 0 ? { newLogKeys: await Promise.all(followed.map(formatVerifierKey)) } : {}),
    accepted: posted.status === 200,
    answer: posted.body,
  };
}

interface FoundKey {
  kind: 'found';
  /** The key that signed the checkpoint: the trusted one, or where the followed transitions led. */
  key: NoteVerifierKey;
  /** Keys newly trusted by following transitions, oldest first. */
  followed: NoteVerifierKey[];
  /** The last head seen before the checkpoint: the witness's state, or the last transition's. */
  previous: Checkpoint | undefined;
}

/**
 * The key that signed `note`, as far as this witness may believe it: the key it trusts, or a key
 * reached through key transitions that start at that key, each consistent with what the witness
 * saw before it. Transitions from other keys (older ones, already followed) are skipped.
 */
async function signingKey(
  base: string,
  http: WitnessHttp,
  note: SignedNote,
  trusted: NoteVerifierKey,
  seenBefore: Checkpoint | undefined,
  configured: NoteVerifierKey,
): Promise<FoundKey | Refusal> {
  if ((await verifyNoteSignature(note, trusted)) !== undefined)
    return { kind: 'found', key: trusted, followed: [], previous: seenBefore };
  const transitions = await fetchKeyTransitions(base, http);
  if (transitions.kind !== 'fetched') return transitions;
  let key = trusted;
  let previous = seenBefore;
  const followed: NoteVerifierKey[] = [];
  for (const text of transitions.notes) {
    const verdict = await verifyKeyTransition(text, key);
    if (!verdict.ok) continue;
    if (previous !== undefined) {
      const inconsistent = await checkConsistency(base, http, previous, verdict.transition.checkpoint);
      if (inconsistent !== undefined) return inconsistent;
    }
    previous = verdict.transition.checkpoint;
    key = verdict.transition.newKey;
    followed.push(key);
    if ((await verifyNoteSignature(note, key)) !== undefined)
      return { kind: 'found', key, followed, previous };
  }
  return {
    kind: 'alert',
    reason:
      key === configured
        ? 'the checkpoint is not signed by the configured log key, nor by a key that a key transition signed by it announces'
        : `the checkpoint is not signed by the log key this witness trusts (${await formatVerifierKey(key)}), nor by a key that a key transition signed by it announces`,
  };
}

async function fetchKeyTransitions(
  base: string,
  http: WitnessHttp,
): Promise<{ kind: 'fetched'; notes: string[] } | { kind: 'failed'; reason: string }> {
  const answer = await http({ method: 'GET', url: `${base}/ledger/key-transitions` });
  if (answer.status !== 200)
    return { kind: 'failed', reason: `GET /ledger/key-transitions answered ${answer.status}` };
  try {
    const parsed: unknown = JSON.parse(answer.body);
    const notes: unknown =
      typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'transitions') : undefined;
    if (!Array.isArray(notes) || !notes.every((text) => typeof text === 'string'))
      throw new Error('no transitions array');
    return { kind: 'fetched', notes };
  } catch {
    // Unreadable transitions prove nothing; the checkpoint then fails on its signature.
    return { kind: 'fetched', notes: [] };
  }
}

async function checkConsistency(
  base: string,
  http: WitnessHttp,
  previous: Checkpoint,
  current: Checkpoint,
): Promise<Refusal | undefined> {
  const sameRoot = Buffer.from(previous.rootHash).equals(Buffer.from(current.rootHash));
  // The empty tree (a key transition made before the first leaf) is a prefix of every tree.
  if (previous.treeSize === 0 && current.treeSize > 0) {
    return Buffer.from(previous.rootHash).equals(EMPTY_TREE_HASH)
      ? undefined
      : { kind: 'alert', reason: 'a checkpoint of the empty tree with a root other than the empty hash' };
  }
  if (current.treeSize < previous.treeSize) {
    return {
      kind: 'alert',
      reason: `the log shrank from ${previous.treeSize} to ${current.treeSize} leaves (rollback)`,
    };
  }
  if (current.treeSize === previous.treeSize) {
    return sameRoot
      ? undefined
      : { kind: 'alert', reason: `fork: two different roots for tree size ${current.treeSize}` };
  }
  const answer = await http({
    method: 'GET',
    url: `${base}/ledger/proof/consistency?first=${previous.treeSize}&second=${current.treeSize}`,
  });
  if (answer.status !== 200)
    return { kind: 'failed', reason: `the consistency proof request answered ${answer.status}` };
  let proof: Buffer[];
  try {
    const parsed: unknown = JSON.parse(answer.body);
    const hashes: unknown =
      typeof parsed === 'object' && parsed !== null ? Reflect.get(parsed, 'proof') : undefined;
    if (!Array.isArray(hashes) || !hashes.every((hash) => typeof hash === 'string'))
      throw new Error('no proof array');
    proof = hashes.map((hash: string) => Buffer.from(hash, 'base64'));
  } catch (error) {
    return {
      kind: 'alert',
      reason: `unreadable consistency proof: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const consistent = await verifyConsistencyProof(
    previous.treeSize,
    current.treeSize,
    previous.rootHash,
    current.rootHash,
    proof,
  );
  return consistent
    ? undefined
    : {
        kind: 'alert',
        reason: `the tree of size ${current.treeSize} is not an extension of the one of size ${previous.treeSize} this witness saw (history rewritten)`,
      };
}

async function readState(path: string): Promise<Checkpoint | undefined> {
  const text = await readText(path);
  return text === undefined ? undefined : parseCheckpointBody(text);
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
}

async function writeState(dir: string, path: string, body: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Write-then-rename: the state is either the old checkpoint or the new one, never half of one.
  await writeFile(`${path}.tmp`, body, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
