/**
 * The audit table is append-only for the application (migration 0008), and the sink's failure
 * modes: fail closed refuses the request it cannot record, fail open serves it and keeps the event
 * until it can be stored. Runs on every configured database.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAccessEventId } from '../../src/audit/access-log.ts';
import { identifier, type Sql, sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { at, createTestApp, FHIR_JSON, json, patient, type TestApp } from '../support/test-app.ts';
import { eventsOf, storedAuditEvents } from './audit-support.ts';

// Makes every insert into the audit tables fail (a full disk or a broken connection would do the
// same), without touching the rows already there: `not valid` skips the existing ones.
const BREAK_AUDIT = [
  sql`alter table audit_event add constraint audit_refused check (id = 'none') not valid`,
  sql`alter table audit_access add constraint audit_refused check (batch < 0) not valid`,
];
const REPAIR_AUDIT = [
  sql`alter table audit_event drop constraint audit_refused`,
  sql`alter table audit_access drop constraint audit_refused`,
];

async function run(t: TestApp, statements: readonly Sql[]): Promise<void> {
  for (const statement of statements) await t.database.query(statement);
}

for (const database of testDatabases()) {
  describe(`audit storage on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database);
    });
    afterAll(async () => {
      await t?.close();
    });

    async function createPatient(): Promise<string> {
      const response = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient(),
      });
      expect(response.statusCode).toBe(201);
      return String(json(response.body).id);
    }

    /** A failed sign-in: stored whole in `audit_event` (writes and reads go to the access log). */
    async function recordSignIn(): Promise<void> {
      await t.audit.signIns.record({ step: 'password', succeeded: false, reason: 'unknown user' });
    }

    it('refuses UPDATE of an audit row', async () => {
      await recordSignIn();
      await expect(t.database.query(sql`update audit_event set outcome = '8'`)).rejects.toThrow(
        /append-only/,
      );
    });

    it('refuses DELETE of an audit row', async () => {
      await recordSignIn();
      await expect(t.database.query(sql`delete from audit_event`)).rejects.toThrow(/append-only/);
      expect((await storedAuditEvents(t)).length).toBeGreaterThan(0);
    });

    it('refuses TRUNCATE of the audit table', async () => {
      await expect(t.database.query(sql`truncate audit_event`)).rejects.toThrow(/append-only/);
    });

    it('refuses UPDATE and DELETE to an app role granted only INSERT and SELECT (docs/audit-and-ledger.md)', async () => {
      await recordSignIn();
      const role = `audit_app_${process.pid}_${Date.now()}`;
      const outcomes: string[] = [];
      // Everything happens in one transaction that is rolled back: the role never outlives the test.
      await t.database
        .transaction(async (tx) => {
          const [row] = await tx.query(sql`select current_schema() as schema`);
          const schema = identifier(String(row?.schema));
          await tx.query(sql`create role ${identifier(role)}`);
          await tx.query(sql`grant usage on schema ${schema} to ${identifier(role)}`);
          await tx.query(sql`grant select, insert on audit_event to ${identifier(role)}`);
          await tx.query(sql`set local role ${identifier(role)}`);
          for (const statement of [sql`update audit_event set outcome = '8'`, sql`delete from audit_event`]) {
            await tx.query(sql`savepoint attempt`);
            try {
              await tx.query(statement);
              outcomes.push('allowed');
            } catch (error) {
              outcomes.push(error instanceof Error ? error.message : String(error));
            }
            await tx.query(sql`rollback to savepoint attempt`);
          }
          const [counted] = await tx.query(sql`select count(*) as events from audit_event`);
          outcomes.push(`read ${String(counted?.events)}`);
          throw new RolledBack();
        })
        .catch((error: unknown) => {
          if (!(error instanceof RolledBack)) throw error;
        });
      expect(outcomes[0]).toMatch(/permission denied for table audit_event/);
      expect(outcomes[1]).toMatch(/permission denied for table audit_event/);
      expect(outcomes[2]).toMatch(/^read [1-9]/);
    });

    it('appends a ledger leaf for every AuditEvent it stores', async () => {
      const id = await createPatient();
      await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
      const events = await storedAuditEvents(t);
      const leaves = await t.database.query(
        sql`select reference from ledger_entry where kind in ('audit-event', 'audit-access-batch')`,
      );
      const references = new Set(leaves.map((row) => String(row.reference)));
      // An access-log event (the read) is a row of a batch whose leaf commits to every row in order.
      const leafOf = (id: string): string => {
        const place = parseAccessEventId(id);
        return place === undefined ? `AuditEvent/${id}` : `AuditAccessBatch/${place.batch}`;
      };
      expect(events.some((event) => event.subtype.includes('read'))).toBe(true);
      expect(events.every((event) => references.has(leafOf(event.id)))).toBe(true);
    });

    it('refuses UPDATE, DELETE and TRUNCATE of the access log, its patient index and its batches', async () => {
      const id = await createPatient();
      expect((await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` })).statusCode).toBe(200);
      for (const table of ['audit_access', 'audit_access_patient', 'audit_access_batch']) {
        const [row] = await t.database.query(sql`select count(*) as rows from ${identifier(table)}`);
        expect(Number(row?.rows), table).toBeGreaterThan(0);
        await expect(t.database.query(sql`update ${identifier(table)} set batch = batch`)).rejects.toThrow(
          /append-only/,
        );
        await expect(t.database.query(sql`delete from ${identifier(table)}`)).rejects.toThrow(/append-only/);
        await expect(t.database.query(sql`truncate ${identifier(table)}`)).rejects.toThrow(/append-only/);
      }
    });

    /** Breaks the audit tables and waits until the sink has seen a batch fail (a read's row). */
    async function breakAudit(): Promise<void> {
      await run(t, BREAK_AUDIT);
      const failures = t.audit.sink.stats().failedBatches;
      const lookup = await t.app.inject({ method: 'GET', url: '/fhir/CodeSystem?_count=1' });
      expect(lookup.statusCode).toBe(200);
      await vi.waitFor(() => expect(t.audit.sink.stats().failedBatches).toBeGreaterThan(failures));
    }

    it('fails closed: once a batch fails, a read is served only if its own row commits, else 503 with an OperationOutcome', async () => {
      const id = await createPatient();
      await breakAudit();
      try {
        const response = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
        expect(response.statusCode).toBe(503);
        expect(at(json(response.body), 'resourceType')).toBe('OperationOutcome');
        expect(at(json(response.body), 'issue', 0, 'code')).toBe('transient');
        // A write cannot commit without its audit row either.
        const write = await t.app.inject({
          method: 'POST',
          url: '/fhir/Patient',
          headers: FHIR_JSON,
          payload: patient(),
        });
        expect(write.statusCode).toBeGreaterThanOrEqual(500);
      } finally {
        await run(t, REPAIR_AUDIT);
      }
      // The answered lookup's row is retried, and reads are served again once a batch commits.
      await vi.waitFor(() => expect(t.audit.sink.stats().pending).toBe(0), { timeout: 10_000, interval: 50 });
      const again = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
      expect(again.statusCode).toBe(200);
    });

    it('answers a read before its row commits, and keeps that row until the database takes it (never dropped)', async () => {
      const id = await createPatient();
      // Rows of earlier tests' reads still lingering for company would fail once the audit breaks.
      await t.audit.sink.flush();
      await run(t, BREAK_AUDIT);
      try {
        // The sink has not seen a failure yet: the read is answered once its row is spooled.
        const response = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
        expect(response.statusCode).toBe(200);
        await vi.waitFor(() => expect(t.audit.sink.stats().failedBatches).toBeGreaterThan(0));
        expect(t.audit.sink.stats().pending).toBeGreaterThan(0);
      } finally {
        await run(t, REPAIR_AUDIT);
      }
      await vi.waitFor(
        async () =>
          expect((await eventsOf(t, 'read')).some((event) => event.patient.includes(`Patient/${id}`))).toBe(
            true,
          ),
        {
          timeout: 10_000,
          interval: 100,
        },
      );
    });

    it('serves a lookup of master data while the audit fails, and stores its row once it can', async () => {
      const accessRows = async (): Promise<number> => {
        const [row] = await t.database.query(sql`select count(*) as rows from audit_access`);
        return Number(row?.rows);
      };
      await breakAudit();
      try {
        // Failing closed protects clinical data (issue 7); a code system search names no patient.
        const lookup = await t.app.inject({ method: 'GET', url: '/fhir/CodeSystem?_count=1' });
        expect(lookup.statusCode).toBe(200);
        const clinical = await t.app.inject({ method: 'GET', url: '/fhir/Patient?_count=1' });
        expect(clinical.statusCode).toBe(503);
      } finally {
        await run(t, REPAIR_AUDIT);
      }
      await vi.waitFor(() => expect(t.audit.sink.stats().pending).toBe(0), { timeout: 10_000, interval: 50 });
      const before = await accessRows();
      const lookup = await t.app.inject({ method: 'GET', url: '/fhir/CodeSystem?_count=1' });
      expect(lookup.statusCode).toBe(200);
      await vi.waitFor(async () => expect(await accessRows()).toBeGreaterThan(before));
    });
  });

  describe(`audit fail-open on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database, { CONCORDIA_AUDIT_FAILURE_MODE: 'fail-open' });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('serves the read, keeps its event and stores it once the database accepts it again', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient(),
      });
      const id = String(json(created.body).id);
      await run(t, BREAK_AUDIT);
      try {
        const response = await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` });
        expect(response.statusCode).toBe(200);
        await vi.waitFor(() => expect(t.audit.sink.stats().failedBatches).toBeGreaterThan(0));
        expect(t.audit.sink.stats().pending).toBe(1);
      } finally {
        await run(t, REPAIR_AUDIT);
      }
      await vi.waitFor(() => expect(t.audit.sink.stats().pending).toBe(0), {
        timeout: 10_000,
        interval: 100,
      });
      const reads = await eventsOf(t, 'read');
      expect(reads.map((event) => event.patient)).toEqual([[`Patient/${id}`]]);
    });
  });
}

class RolledBack extends Error {}

for (const database of testDatabases()) {
  describe(`audit with CONCORDIA_AUDIT_READS=committed and CONCORDIA_AUDIT_COMMIT=async on ${database.name}`, () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp(database, {
        CONCORDIA_AUDIT_COMMIT: 'async',
        CONCORDIA_AUDIT_READS: 'committed',
      });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('still stores the event before the read is answered', async () => {
      const created = await t.app.inject({
        method: 'POST',
        url: '/fhir/Patient',
        headers: FHIR_JSON,
        payload: patient(),
      });
      const id = String(json(created.body).id);
      expect((await t.app.inject({ method: 'GET', url: `/fhir/Patient/${id}` })).statusCode).toBe(200);
      // Read without flushing the sink: the row is committed before the answer.
      expect((await eventsOf(t.database, 'read')).map((event) => event.patient)).toEqual([[`Patient/${id}`]]);
    });
  });
}
