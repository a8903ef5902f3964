/**
 * `concordia witness`: one round of witnessing a Concordia log (DESIGN.md D8), as the
 * transparency-dev witnesses do for Certificate Transparency and Go's checksum database:
 *
 * 1. fetch the log's checkpoint and verify the log's signature with the key configured out of band;
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
  type NoteVerifierKey,
  noteKeyId,
  noteSignatureLine,
  parseCheckpointBody,
  parseSignedNote,
  verifyConsistencyProof,
  verifyNoteSignature,
} from '@concordia/fhir';
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
  | { kind: 'cosigned'; treeSize: number; previousSize?: number; accepted: boolean; answer: string }
  | { kind: 'alert'; reason: string }
  | { kind: 'failed'; reason: string };

export async function witnessOnce(options: WitnessOptions): Promise<WitnessOutcome> {
  const base = options.logUrl.replace(/\/+$/, '');
  const fetched = await options.http({ method: 'GET', url: `${base}/ledger/checkpoint` });
  if (fetched.status !== 200)
    return { kind: 'failed', reason: `GET /ledger/checkpoint answered ${fetched.status}` };
  let checkpoint: Checkpoint;
  let body: string;
  try {
    const note = parseSignedNote(fetched.body);
    body = note.body;
    checkpoint = parseCheckpointBody(body);
    if (checkpoint.origin !== options.logKey.name)
      return { kind: 'alert', reason: `the checkpoint is for another log: ${checkpoint.origin}` };
    if ((await verifyNoteSignature(note, options.logKey)) === undefined) {
      return { kind: 'alert', reason: 'the checkpoint is not signed by the configured log key' };
    }
  } catch (error) {
    return {
      kind: 'alert',
      reason: `unreadable checkpoint: ${error instanceof Error ? error.message : String(error)}`,
    };
  }

  const statePath = join(options.stateDir, `${checkpoint.origin.replace(/[^A-Za-z0-9.-]/g, '_')}.checkpoint`);
  const previous = await readState(statePath);
  if (previous !== undefined) {
    const verdict = await checkConsistency(base, options.http, previous, checkpoint);
    if (verdict !== undefined) return verdict;
  }
  // Remember what was verified before telling anyone, so a crash never forgets a seen tree.
  await writeState(options.stateDir, statePath, body);

  const timestamp = Math.floor(options.now?.() ?? Date.now() / 1000);
  const signature = sign(null, cosignedMessage(body, timestamp), options.key.privateKey);
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
    body: `${body}\n${line}`,
  });
  return {
    kind: 'cosigned',
    treeSize: checkpoint.treeSize,
    ...(previous !== undefined ? { previousSize: previous.treeSize } : {}),
    accepted: posted.status === 200,
    answer: posted.body,
  };
}

async function checkConsistency(
  base: string,
  http: WitnessHttp,
  previous: Checkpoint,
  current: Checkpoint,
): Promise<WitnessOutcome | undefined> {
  const sameRoot = Buffer.from(previous.rootHash).equals(Buffer.from(current.rootHash));
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
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return undefined;
    throw error;
  }
  return parseCheckpointBody(text);
}

async function writeState(dir: string, path: string, body: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Write-then-rename: the state is either the old checkpoint or the new one, never half of one.
  await writeFile(`${path}.tmp`, body, { mode: 0o600 });
  await rename(`${path}.tmp`, path);
}
