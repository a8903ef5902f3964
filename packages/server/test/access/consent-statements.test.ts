/**
 * What Consents cost the statements of principals they do not concern (DESIGN.md D6: the decision
 * is compiled over relationships resolved once per principal). Opt-outs for everyone are read with
 * every practitioner's relationships; a family doctor none of whose patients opted out must keep
 * the `Patient?name=` statement, and its plan, they had without them.
 */
import { normalizeString } from '@concordia/fhir';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessRowFilter } from '../../src/access/access-policy.ts';
import { type RequestContext, systemContext } from '../../src/access/request-context.ts';
import { parseScopes } from '../../src/access/smart-scopes.ts';
import { indexMatches, indexPageStatement } from '../../src/store/search/search-statement.ts';
import { type Sql, sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';
import { firstPageSearch } from '../support/first-page-statement.ts';
import { type AccessTestApp, createAccessTestApp } from './access-app.ts';
import { consent, declaration, observation } from './access-fixtures.ts';

const DOCTOR: RequestContext = {
  principal: {
    kind: 'user',
    id: 'doc-s',
    roles: ['family-doctor'],
    fhirUser: 'Practitioner/doc-s',
    scopes: parseScopes('user/*.cruds'),
    clientId: 'statements',
    expiresAt: 4_102_444_800,
  },
  requestId: 'consent-statements',
};

const patient = (id: string) => ({ resourceType: 'Patient', id, name: [{ family: 'Statement' }] });

describe.each(testDatabases())('Consent statements on $name', (database) => {
  let t: AccessTestApp;

  beforeAll(async () => {
    t = await createAccessTestApp(database);
    await t.put([
      ...['pat-s1', 'pat-s2'].flatMap((id) => [
        patient(id),
        declaration({ id: `decl-${id}`, patient: id, practitioner: 'doc-s' }),
        observation({ id: `obs-${id}`, patient: id }),
      ]),
      patient('pat-other'),
    ]);
  }, 300_000);
  afterAll(() => t.close());

  /** The doctor's `Patient?name=Statement` first page, and its plan, with a fresh decision. */
  async function nameSearch(): Promise<{ text: string; plan: string[] }> {
    const rows = createAccessRowFilter();
    const { search } = firstPageSearch('Patient', 'name=Statement');
    return t.store.transact(systemContext('consent-statements'), async (tx) => {
      const filter = await rows.filter(
        DOCTOR,
        { kind: 'search', resourceTypes: ['Patient'], filters: search.filters },
        { db: tx.sql },
      );
      const matches = indexMatches(search, normalizeString, Date.now(), filter);
      if (matches === undefined) throw new Error('a name search is found from index rows');
      const statement: Sql = indexPageStatement(matches, undefined, search.count + 1);
      const plan = await tx.sql.query(sql`explain (costs off) ${statement}`);
      return {
        text: statement.toQuery().text,
        plan: plan.map((row) => String(Object.values(row)[0])),
      };
    });
  }

  it('keeps a family doctor’s Patient?name= statement and plan when only other patients opt out', async () => {
    const before = await nameSearch();
    expect(before.text).not.toContain('search_date');
    await t.put([
      consent({ id: 'c-s-other', patient: 'pat-other', type: 'deny' }),
      consent({
        id: 'c-s-other-code',
        patient: 'pat-other',
        type: 'deny',
        purposes: ['HRESCH'],
        codes: [{ system: 'http://loinc.org', code: '8867-4' }],
        dataPeriod: { start: '2020' },
      }),
    ]);
    const after = await nameSearch();
    expect(after.text).toBe(before.text);
    expect(after.plan).toEqual(before.plan);
  });

  it('adds the denial to the statement once one of the doctor’s patients opts out', async () => {
    const before = await nameSearch();
    await t.put([consent({ id: 'c-s1', patient: 'pat-s1', type: 'deny' })]);
    const after = await nameSearch();
    expect(after.text).not.toBe(before.text);
    expect(after.text).toContain('a_dc.patient_id');
  });
});
