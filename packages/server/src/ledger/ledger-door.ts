/**
 * The ledger's HTTP door (DESIGN.md D8), an encapsulated Fastify plugin under `/ledger`:
 *
 *   GET  /ledger/checkpoint[?confirmed]      latest signed checkpoint (C2SP note) with cosignatures — public
 *   GET  /ledger/key                         the log's verifier key — public
 *   GET  /ledger/key-transitions             the key-transition notes of every rotation, oldest first — public
 *   GET  /ledger/proof/consistency?first=&second=                                  — public
 *   GET  /ledger/proof/inclusion?resource=Type/id&version=n | ?audit=<id> | ?index=n [&size=n]
 *                                            — authenticated, and only for a caller allowed to read the row;
 *                                            an access-log event is proven through its batch's leaf
 *   POST /ledger/cosignature                 a witness's cosigned checkpoint (text/plain) — the signature is the credential
 *
 * Checkpoints and consistency proofs carry tree sizes and hashes of subtrees only; witnesses need
 * them without an account. An inclusion proof reveals which row a leaf is and the hash of its
 * content, so it is served only after the FHIR core has allowed the caller to read that row
 * (the same access decision and audit as a vread).
 */

import { formatVerifierKey } from '@concordia/fhir';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type Authenticator, bearerChallenge } from '../access/authenticate.ts';
import type { RequestContext } from '../access/request-context.ts';
import type { FhirCore } from '../fhir/interaction.ts';
import { accessInclusion } from './access-batch-proofs.ts';
import { checkpointOfSize, latestCheckpoint, latestConfirmedCheckpoint } from './checkpoints.ts';
import { acceptCosignatures, cosignedNote } from './cosignatures.ts';
import { keyTransitionNotes } from './key-rotation.ts';
import type { Ledger } from './ledger.ts';
import { isQueued, leafByIndex, leafByReference } from './ledger-leaves.ts';
import { consistencyProof, inclusionProof } from './proofs.ts';
import { leafHash } from './tree-hashes.ts';
import { sequencedTreeSize } from './tree-nodes.ts';

export interface LedgerDoorOptions {
  ledger: Ledger;
  core: FhirCore;
  authenticate: Authenticator;
}

const NOTE_TYPE = 'text/plain; charset=utf-8';

export async function ledgerDoor(app: FastifyInstance, options: LedgerDoorOptions): Promise<void> {
  const { ledger, core, authenticate } = options;
  const { db } = ledger;
  const witnessNames = ledger.witnesses.map((witness) => witness.name);

  app.get('/checkpoint', async (request, reply) => {
    const confirmed = queryText(request, 'confirmed') !== undefined;
    const checkpoint = confirmed
      ? await latestConfirmedCheckpoint(db, witnessNames, ledger.quorum)
      : await latestCheckpoint(db);
    if (checkpoint === undefined) {
      return problem(
        reply,
        404,
        'not-found',
        confirmed ? 'No checkpoint has reached the witness quorum yet' : 'The log has no checkpoint yet',
      );
    }
    return reply
      .type(NOTE_TYPE)
      .header('cache-control', 'no-store')
      .send(await cosignedNote(db, checkpoint, ledger.witnesses));
  });

  app.get('/key', async (_request, reply) =>
    reply.type(NOTE_TYPE).send(`${await formatVerifierKey(ledger.signer.verifierKey)}\n`),
  );

  // Witnesses follow a rotation from the key they trust (key-rotation.ts). A note holds blank
  // lines, so several travel as a JSON array rather than concatenated text.
  app.get('/key-transitions', async (_request, reply) =>
    reply
      .header('cache-control', 'no-store')
      .send({ transitions: (await keyTransitionNotes(db)).map((transition) => transition.note) }),
  );

  app.get('/proof/consistency', async (request, reply) => {
    const first = nonNegativeInteger(queryText(request, 'first'));
    const second = nonNegativeInteger(queryText(request, 'second'));
    if (first === undefined || second === undefined || first > second) {
      return problem(reply, 400, 'invalid', 'Give tree sizes first ≤ second as non-negative integers');
    }
    const size = await sequencedTreeSize(db);
    if (second > size)
      return problem(reply, 400, 'invalid', `The tree has ${size} leaves, fewer than ${second}`);
    const proof = await consistencyProof(db, first, second);
    return { first, second, proof: proof.map((hash) => hash.toString('base64')) };
  });

  app.get('/proof/inclusion', async (request, reply) => {
    const authentication = await authenticate(headerText(request.headers.authorization));
    if (!authentication.ok) {
      reply.header('www-authenticate', bearerChallenge('ledger', authentication));
      return problem(reply, 401, 'login', authentication.description);
    }
    const ctx: RequestContext = {
      principal: authentication.principal,
      ...(authentication.clientId !== undefined ? { clientId: authentication.clientId } : {}),
      sourceIp: request.ip,
      requestId: String(request.id),
    };
    const index = queryText(request, 'index');
    const byIndex =
      index === undefined
        ? undefined
        : await optional(nonNegativeInteger(index), (at) => leafByIndex(db, at));
    const reference = index === undefined ? leafReference(request) : byIndex?.leaf.reference;
    if (reference === undefined) {
      return problem(
        reply,
        404,
        'not-found',
        'Name a resource version, an audit event or a leaf index the log holds',
      );
    }
    // The same decision (and audit) as reading the row itself; a 404 hides rows the caller may not see.
    const read = await core.handle(ctx, { method: 'GET', path: reference, query: [], headers: {} });
    if (read.status !== 200 && read.status !== 410) {
      const status = read.status === 401 || read.status === 403 ? read.status : 404;
      return problem(reply, status, 'forbidden', `Not allowed to read ${reference}`);
    }
    // An access-log event is in the tree through its batch's leaf (audit/access-log-batches.ts).
    const access = byIndex === undefined ? await accessInclusion(db, reference) : undefined;
    const provenReference = access?.batchReference ?? reference;
    const entry = byIndex ?? (await leafByReference(db, provenReference));
    const requestedSize = queryText(request, 'size');
    const checkpoint =
      requestedSize === undefined
        ? await latestCheckpoint(db)
        : await optional(nonNegativeInteger(requestedSize), (size) => checkpointOfSize(db, size));
    if (entry === undefined && (access?.missing === true || !(await isQueued(db, provenReference)))) {
      return problem(reply, 404, 'not-found', `The ledger records no ${reference}`);
    }
    if (entry === undefined || checkpoint === undefined || entry.leafIndex >= checkpoint.treeSize) {
      return problem(
        reply,
        409,
        'pending',
        `${reference} is recorded but not yet in a signed checkpoint; retry shortly`,
      );
    }
    const proof = await inclusionProof(db, entry.leafIndex, checkpoint.treeSize);
    return {
      leaf: entry.leaf,
      leafIndex: entry.leafIndex,
      leafHash: leafHash(entry.leaf).toString('base64'),
      treeSize: checkpoint.treeSize,
      proof: proof.map((hash) => hash.toString('base64')),
      checkpoint: await cosignedNote(db, checkpoint, ledger.witnesses),
      ...(access?.batch !== undefined ? { accessBatch: access.batch } : {}),
    };
  });

  app.post('/cosignature', async (request, reply) => {
    if (typeof request.body !== 'string') {
      return problem(reply, 415, 'invalid', 'Send the cosigned checkpoint note as text/plain');
    }
    const outcome = await acceptCosignatures(db, ledger.witnesses, request.body);
    if (!outcome.ok) return problem(reply, outcome.status, 'invalid', outcome.reason);
    return {
      treeSize: outcome.treeSize,
      accepted: outcome.accepted,
      cosigners: outcome.cosigners,
      confirmed: outcome.cosigners >= ledger.quorum,
    };
  });
}

/** `Patient/1/_history/2` from `resource=Patient/1&version=2`, or `AuditEvent/<id>` from `audit=<id>`. */
function leafReference(request: FastifyRequest): string | undefined {
  const audit = queryText(request, 'audit');
  if (audit !== undefined) return /^[A-Za-z0-9\-.]{1,64}$/.test(audit) ? `AuditEvent/${audit}` : undefined;
  const resource = queryText(request, 'resource');
  const version = nonNegativeInteger(queryText(request, 'version'));
  if (
    resource === undefined ||
    version === undefined ||
    !/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(resource)
  ) {
    return undefined;
  }
  return `${resource}/_history/${version}`;
}

async function optional<K, T>(
  key: K | undefined,
  find: (key: K) => Promise<T | undefined>,
): Promise<T | undefined> {
  return key === undefined ? undefined : find(key);
}

function queryText(request: FastifyRequest, name: string): string | undefined {
  const query: unknown = request.query;
  if (typeof query !== 'object' || query === null) return undefined;
  const value: unknown = Reflect.get(query, name);
  return typeof value === 'string' ? value : undefined;
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function nonNegativeInteger(text: string | undefined): number | undefined {
  if (text === undefined || !/^(?:0|[1-9][0-9]{0,15})$/.test(text)) return undefined;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : undefined;
}

function problem(reply: FastifyReply, status: number, error: string, message: string) {
  return reply.code(status).type('application/json').send({ error, message });
}
