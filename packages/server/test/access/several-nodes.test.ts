/**
 * Several nodes on one PostgreSQL database (docs/operations.md "Several nodes"): what one node
 * writes that changes another's kept copies — a Consent, a token revocation — reaches the other
 * through a change notification (store/change-notifications.ts), not when the copy expires. The
 * expiry is set to an hour here, so only the notification can explain what the second node does.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RelationshipCache } from '../../src/access/relationship-snapshot.ts';
import { buildApp } from '../../src/app.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import type { FhirCore } from '../../src/fhir/interaction.ts';
import { createIdentity, type Identity } from '../../src/identity/identity.ts';
import { corePatientDirectory } from '../../src/identity/patient-picker.ts';
import { TokenRevocations } from '../../src/identity/token-revocations.ts';
import type { JobWorker } from '../../src/jobs/job-worker.ts';
import { buildComponents, openChangeNotifications } from '../../src/main.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createMetrics } from '../../src/ops/metrics.ts';
import {
  type Change,
  type ChangeNotifications,
  createChangeNotifications,
  parseChange,
} from '../../src/store/change-notifications.ts';
import type { Database } from '../../src/store/database.ts';
import { createPostgresDatabase } from '../../src/store/postgres.ts';
import { readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { clientCredentialsToken } from '../identity/identity-app.ts';
import { testDatabases } from '../support/databases.ts';
import { putResources } from './access-app.ts';
import { consent } from './access-fixtures.ts';

const HOUR_SECONDS = 3600;

describe('change notification payloads', () => {
  it("reads another node's committed writes and skips the node's own", () => {
    const payload = JSON.stringify({ node: 'a', resourceTypes: ['Consent', 7] });
    expect(parseChange(payload, 'b')).toEqual({ kind: 'resources', resourceTypes: ['Consent'] });
    expect(parseChange(payload, 'a')).toBeUndefined();
  });

  it('reads a revocation as token-revocations.ts announces it, from any node', () => {
    const payload = JSON.stringify({ revocation: ['client', 'c-1', 1_790_000_000.25] });
    expect(parseChange(payload, 'a')).toEqual({
      kind: 'revocation',
      revocationKind: 'client',
      subject: 'c-1',
      revokedAt: 1_790_000_000.25,
    });
  });

  it('ignores what it cannot read (the expiry covers it)', () => {
    expect(parseChange('not json', 'a')).toBeUndefined();
    expect(parseChange('{"revocation":["client"]}', 'a')).toBeUndefined();
    expect(parseChange('[]', 'a')).toBeUndefined();
  });
});

describe('kept relationships and change notifications', () => {
  /** A subscription the test announces on, and a reader that counts the resolving statements. */
  function setUp() {
    const listeners = new Set<(change: Change) => void>();
    const changes = {
      subscribe(listener: (change: Change) => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    };
    let statements = 0;
    const reader = {
      db: {
        query: async () => {
          statements += 1;
          return [{}];
        },
        executeScript: async () => undefined,
      },
    };
    const cache = new RelationshipCache({ ttlMs: HOUR_SECONDS * 1000, changes });
    const needs = { deniable: [{ type: 'Practitioner', id: 'doc' }] };
    return {
      announce: (change: Change) => {
        for (const listener of listeners) listener(change);
      },
      resolve: async () => {
        await cache.get('doc', needs, reader);
        return statements;
      },
    };
  }

  it("renews them on another node's write of a type they are read from, and only then", async () => {
    const { announce, resolve } = setUp();
    expect(await resolve()).toBe(1);
    expect(await resolve()).toBe(1);
    announce({ kind: 'resources', resourceTypes: ['Observation'] });
    expect(await resolve()).toBe(1);
    announce({ kind: 'resources', resourceTypes: ['Consent'] });
    expect(await resolve()).toBe(2);
  });

  it('drops everything kept when notifications may have been missed (a reconnect)', async () => {
    const { announce, resolve } = setUp();
    expect(await resolve()).toBe(1);
    announce({ kind: 'reset' });
    expect(await resolve()).toBe(2);
  });
});

for (const database of testDatabases()) {
  if (database.name === 'pglite') {
    it('PGlite is one node: it opens no listening connection', async () => {
      const db = await database.create();
      const config = loadConfig({ LOG_LEVEL: 'silent' });
      expect(await openChangeNotifications(db, config, createLogger(config))).toBeUndefined();
      await db.close();
    });
    continue;
  }
  const connectionString = process.env.DATABASE_URL ?? '';

  describe('two nodes on one PostgreSQL database', () => {
    let first: Database;
    let second: Database;
    let dataDir: string;
    let nodeA: TestNode;
    let nodeB: TestNode;

    beforeAll(async () => {
      first = await database.create();
      const [row] = await first.query(sql`select current_schema() as schema`);
      const schema = row !== undefined ? readString(row, 'schema') : '';
      second = createPostgresDatabase({ connectionString, poolSize: 4, schema });
      // One data directory: both nodes seal and open the signing keys with the same identity key.
      dataDir = await mkdtemp(join(tmpdir(), 'concordia-nodes-'));
      const config = loadConfig({
        LOG_LEVEL: 'silent',
        DATABASE_URL: connectionString,
        CONCORDIA_BASE_URL: 'http://fhir.test',
        CONCORDIA_DATA_DIR: dataDir,
        CONCORDIA_AUTH: 'required',
        CONCORDIA_RELATIONSHIP_CACHE_SECONDS: String(HOUR_SECONDS),
      });
      nodeA = await startNode(first, config);
      nodeB = await startNode(second, config);
    });

    afterAll(async () => {
      await nodeB?.close();
      await nodeA?.close();
      await second?.close();
      await first?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('enforces a Consent written on node A on the next request to node B (consent.html#provision)', async () => {
      await nodeA.put([
        { resourceType: 'Organization', id: 'org-n', name: 'North clinic' },
        { resourceType: 'Patient', id: 'pat-n', managingOrganization: { reference: 'Organization/org-n' } },
        {
          resourceType: 'Observation',
          id: 'obs-n',
          status: 'final',
          code: { text: 'Pulse' },
          subject: { reference: 'Patient/pat-n' },
        },
      ]);
      const token = await nodeA.clientToken('Clinic system', 'Organization/org-n');
      // Node B resolves the client's relationships now and would keep them for an hour.
      expect((await nodeB.get(token, '/fhir/Observation/obs-n')).statusCode).toBe(200);

      const heard = nodeB.next(
        (change) => change.kind === 'resources' && change.resourceTypes.includes('Consent'),
      );
      await nodeA.put([
        consent({ id: 'deny-n', patient: 'pat-n', actor: 'Organization/org-n', type: 'deny' }),
      ]);
      await heard;
      expect((await nodeB.get(token, '/fhir/Observation/obs-n')).statusCode).toBe(404);
    });

    it('refuses on node B a token revoked on node A, without re-reading the list (RFC 7009 §2)', async () => {
      const { clientId, clientSecret } = await nodeA.addClient('Lab system');
      const issued = await clientCredentialsToken(nodeA.app, clientId, clientSecret, 'system/*.rs');
      const token = `Bearer ${String(issued.body.access_token)}`;
      expect((await nodeB.get(token, '/fhir/Patient')).statusCode).toBe(200);

      const heard = nodeB.next((change) => change.kind === 'revocation' && change.subject === clientId);
      await nodeA.identity.clients.setDisabled(clientId, true);
      await heard;
      expect((await nodeB.get(token, '/fhir/Patient')).statusCode).toBe(401);
    });

    it('reconnects after losing its listening connection, then reports a reset and hears again', async () => {
      const applicationName = `concordia-changes-test-${process.pid}-${Date.now()}`;
      const listening = await createChangeNotifications({
        connectionString,
        applicationName,
        minBackoffMs: 10,
      });
      try {
        const reset = nextChange(listening, (change) => change.kind === 'reset');
        await first.query(
          sql`select pg_terminate_backend(pid) from pg_stat_activity where application_name = ${applicationName}`,
        );
        await reset;
        const heard = nextChange(listening, (change) => change.kind === 'resources');
        const other = await createChangeNotifications({ connectionString });
        await first.query(other.announcement(['Consent']));
        await other.close();
        await heard;
      } finally {
        await listening.close();
      }
    });

    it("keeps a node's revocation list current from another node's announcements", async () => {
      const listening = await createChangeNotifications({ connectionString });
      try {
        // Read once, then never again within the test: an hour between reads.
        const other = new TokenRevocations(second, {
          accessTokenSeconds: 300,
          refreshMs: HOUR_SECONDS * 1000,
        });
        other.listen(listening);
        const issued = { subject: 'u-n', clientId: 'app', issuedAt: Math.floor(Date.now() / 1000) };
        expect(await other.refusal(issued)).toBeUndefined();
        const heard = nextChange(
          listening,
          (change) => change.kind === 'revocation' && change.subject === 'u-n',
        );
        await new TokenRevocations(first, { accessTokenSeconds: 300 }).revoke('user', 'u-n');
        await heard;
        expect(await other.refusal(issued)).toContain('signed out');
      } finally {
        await listening.close();
      }
    });
  });

  interface TestNode {
    app: FastifyInstance;
    identity: Identity;
    put(
      resources: readonly ({ resourceType: string; id?: string } & Record<string, unknown>)[],
    ): Promise<void>;
    addClient(name: string, organization?: string): Promise<{ clientId: string; clientSecret: string }>;
    clientToken(name: string, organization: string): Promise<string>;
    get(token: string, url: string): Promise<{ statusCode: number; body: string }>;
    /** Resolves when this node hears a change that `matches`. */
    next(matches: (change: Change) => boolean): Promise<void>;
    close(): Promise<void>;
  }

  /** One node as main.ts `startServer` composes it, on `db`, with its own listening connection. */
  async function startNode(db: Database, config: Config): Promise<TestNode> {
    const logger = createLogger(config);
    const changes = await openChangeNotifications(db, config, logger);
    if (changes === undefined) throw new Error('PostgreSQL opens a listening connection');
    const components = await buildComponents(db, config, logger, changes);
    const core: FhirCore = components.core;
    const worker: JobWorker = components.worker;
    const identity = await createIdentity({ config, db, patients: corePatientDirectory(core) });
    identity.revocations.listen(changes);
    const app = await buildApp({
      config,
      store: components.store,
      core,
      logger,
      metrics: createMetrics(),
      identity,
    });
    await app.ready();
    const addClient = async (name: string, organization?: string) => {
      const { client, clientSecret } = await identity.clients.add({
        name,
        kind: 'backend',
        scopes: ['system/*.rs'],
        ...(organization !== undefined ? { organization } : {}),
      });
      return { clientId: client.clientId, clientSecret: clientSecret ?? '' };
    };
    return {
      app,
      identity,
      put: (resources) => putResources(core, 'several-nodes-test', resources),
      addClient,
      async clientToken(name, organization) {
        const { clientId, clientSecret } = await addClient(name, organization);
        const { status, body } = await clientCredentialsToken(app, clientId, clientSecret, 'system/*.rs');
        expect(status).toBe(200);
        return `Bearer ${String(body.access_token)}`;
      },
      get: (token, url) => app.inject({ method: 'GET', url, headers: { authorization: token } }),
      next: (matches) => nextChange(changes, matches),
      async close() {
        await app.close();
        await worker.stop();
        await components.audit.close();
        await changes.close();
      },
    };
  }
}

function nextChange(changes: ChangeNotifications, matches: (change: Change) => boolean): Promise<void> {
  return new Promise((resolve) => {
    const stop = changes.subscribe((change) => {
      if (!matches(change)) return;
      stop();
      resolve();
    });
  });
}
