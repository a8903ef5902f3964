/**
 * `$validate-code` answers are cached per terminology revision (sql-terminology-service.ts): a
 * cached answer must never outlive the terminology it was computed from — whether the change
 * comes through the FHIR API (a stored CodeSystem or ValueSet), or from another process sharing
 * the database (`concordia terminology import`, another node) — and the revision that decides it
 * is read once for many concurrent calls without ever answering a call with a read that began
 * before it (terminology-revision.ts `sharedRevisionReader`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlExecutor } from '../../src/store/database.ts';
import { codeSystemContent } from '../../src/terminology/in-memory-content.ts';
import { loadCodeSystem } from '../../src/terminology/load-code-system.ts';
import {
  bumpTerminologyRevision,
  readTerminologyRevision,
  sharedRevisionReader,
} from '../../src/terminology/terminology-revision.ts';
import { testDatabases } from '../support/databases.ts';
import { createTerminologyComponents, type TerminologyComponents } from './terminology-components.ts';
import { concept, ICD10, icd10, icd10Concepts } from './terminology-fixtures.ts';

const icd10Header = icd10().header;

const LOCAL = 'https://concordia.example/CodeSystem/cache-test';
const LOCAL_SET = 'https://concordia.example/ValueSet/cache-test';

for (const database of testDatabases()) {
  describe(`$validate-code cache on ${database.name}`, () => {
    let t: TerminologyComponents;
    beforeAll(async () => {
      t = await createTerminologyComponents(database);
      await loadCodeSystem(t.db, icd10('2019'));
    });
    afterAll(async () => {
      await t?.close();
    });

    it('answers the same question the same way while nothing changes', async () => {
      const first = await t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J45.9' });
      const again = await t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J45.9' });
      expect(again).toEqual(first);
      expect(first).toEqual({ result: true, display: 'Asthma, unspecified' });
      // The display asked about is part of the question.
      const wrong = await t.terminology.validateCode(t.ctx, {
        system: ICD10,
        code: 'J45.9',
        display: 'Cough',
      });
      expect(wrong.result).toBe(false);
    });

    it('retires an answer when a CodeSystem written through the API changes the code system', async () => {
      const ask = () => t.terminology.validateCode(t.ctx, { system: LOCAL, code: 'a' });
      expect(await ask()).toEqual({ result: false, message: `Unknown code system ${LOCAL}` });
      const codeSystem = {
        resourceType: 'CodeSystem',
        id: 'cache-test',
        url: LOCAL,
        version: '1',
        status: 'active',
        content: 'complete',
        concept: [{ code: 'a', display: 'Alpha' }],
      };
      expect((await t.write(codeSystem)).status).toBe(201);
      expect(await ask()).toEqual({ result: true, display: 'Alpha' });
      expect((await t.write({ ...codeSystem, concept: [{ code: 'b', display: 'Beta' }] })).status).toBe(200);
      expect(await ask()).toMatchObject({
        result: false,
        message: `Unknown code a in the code system ${LOCAL} version 1`,
      });
    });

    it('retires a value set answer when the ValueSet is updated', async () => {
      const ask = () => t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J44.9' }, LOCAL_SET);
      const valueSet = (codes: string[]) => ({
        resourceType: 'ValueSet',
        id: 'cache-test',
        url: LOCAL_SET,
        status: 'active',
        compose: { include: [{ system: ICD10, concept: codes.map((code) => ({ code })) }] },
      });
      await t.write(valueSet(['J45.9']));
      expect((await ask()).result).toBe(false);
      await t.write(valueSet(['J45.9', 'J44.9']));
      expect(await ask()).toMatchObject({ result: true });
    });

    it('retires an answer when another process loads a new version into the database', async () => {
      const ask = () => t.terminology.validateCode(t.ctx, { system: ICD10, code: 'J45.8' });
      expect((await ask()).result).toBe(false);
      // As `concordia terminology import` would, on its own connection: nothing in this service hears of it.
      await loadCodeSystem(
        t.db,
        codeSystemContent({ ...icd10Header, version: '2020' }, [
          ...icd10Concepts(),
          concept('J45.8', 'Mixed asthma', ['J45']),
        ]),
      );
      expect(await ask()).toEqual({ result: true, display: 'Mixed asthma' });
    });

    it('reads the revision once for callers that arrive while a read is under way, never answering one with an earlier read', async () => {
      const counted = heldExecutor(t.db);
      const revision = sharedRevisionReader(counted);
      const before = await readTerminologyRevision(t.db);
      counted.hold();
      const early = revision();
      await counted.started(1);
      // Committed after the first read was taken but before the next callers asked.
      await bumpTerminologyRevision(t.db);
      const late = [revision(), revision(), revision()];
      counted.release();
      expect(await early).toBe(before);
      expect(await Promise.all(late)).toEqual([before + 1, before + 1, before + 1]);
      // One read for the first caller, one shared by the three that came while it was under way.
      expect(counted.queries).toBe(2);
    });
  });
}

/**
 * The real database, whose answers can be held back after the query ran: a read that has seen the
 * database but not yet answered, as a slow round trip would be.
 */
function heldExecutor(db: SqlExecutor) {
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let executed = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  const executor = {
    /** Statements sent. */
    queries: 0,
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      open?.();
      gate = undefined;
    },
    /** Resolves once `count` statements have run in the database. */
    started(count: number): Promise<void> {
      if (executed >= count) return Promise.resolve();
      return new Promise((resolve) => waiting.push({ count, resolve }));
    },
    async query(statement: Parameters<SqlExecutor['query']>[0]) {
      executor.queries += 1;
      const rows = await db.query(statement);
      executed += 1;
      for (const waiter of waiting.filter((entry) => executed >= entry.count)) waiter.resolve();
      if (gate !== undefined) await gate;
      return rows;
    },
    executeScript: (script: string) => db.executeScript(script),
  };
  return executor;
}
