/**
 * An access-log batch travels to the database as one text of separated fields (access-log.ts
 * `accessRowFields`, access-log-batches.ts), not as JSON: every row must come back exactly as it
 * went in — absent columns NULL, empty texts and empty arrays kept apart from absent ones — and the
 * batch's row hashes must be those of the rows as stored, or `ledger verify` would call an honest
 * batch tampered.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/access/request-context.ts';
import {
  ACCESS_ROW_COLUMNS,
  type AccessRow,
  accessRowJson,
  accessRowOf,
  encodeAccessRow,
  readAccessRow,
} from '../../src/audit/access-log.ts';
import { accessBatchCtes, sha256Hex } from '../../src/audit/access-log-batches.ts';
import { REST_TYPE, RESTFUL_INTERACTION } from '../../src/audit/balp-codes.ts';
import type { Database } from '../../src/store/database.ts';
import { readNumber, readString } from '../../src/store/rows.ts';
import { cteList, identifier, joinSql, sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';

const SOURCE = { observer: 'https://hie.example/fhir' };

/** Every optional column absent, both arrays empty. */
const BARE: AccessRow = {
  recorded: '2026-11-25T09:00:00.123Z',
  request_id: 'req-bare',
  interaction: 'search-system',
  action: 'E',
  outcome: '0',
  actor: 'anonymous',
  requestor: 'anonymous',
  entities: [],
  patients: [],
};

/** Every optional column present and empty (roles an empty array): not the same as absent. */
const EMPTY: AccessRow = {
  ...BARE,
  request_id: 'req-empty',
  operation: '',
  outcome_desc: '',
  actor: 'user',
  actor_id: '',
  roles: [],
  fhir_user: '',
  organization: '',
  token_id: '',
  client_id: '',
  source_ip: '',
  user_agent: '',
  purpose: '',
  break_glass_reason: '',
  query: '',
};

/** Text that array literals, JSON and CSV would each need escaped. */
const AWKWARD: AccessRow = {
  ...BARE,
  request_id: 'req-"awkward"',
  interaction: 'read',
  action: 'R',
  outcome: '4',
  outcome_desc: 'a\\b "quoted" {braced, listed} NULL \'single\' 😷 Ü\ttab\nline',
  actor: 'client',
  actor_id: 'NULL',
  roles: ['system', 'with space', '{braced}', 'NULL', '"quoted"'],
  requestor: 'client,with,commas',
  user_agent: 'Mozilla/5.0 (X11; \\ "x")',
  entities: ['Patient/p-1', 'Patient/p-1/_history/2', 'Observation/{x}'],
  query: 'name=%22a%22&_count=1',
  patients: ['Patient/p-1', 'Patient/p,2'],
};

/** Separator and NUL characters in a request's own text: replaced before the row is made. */
function separatorsRow(): AccessRow {
  const ctx: RequestContext = {
    principal: { kind: 'anonymous' },
    requestId: 'req-\u001e-separators',
    userAgent: 'agent\u001fwith\u001dseparators\u001c\u0000',
    purposeOfUse: 'PURPOSE\u001e',
  };
  return accessRowOf({
    ctx,
    recorded: '2026-11-25T09:00:01.000Z',
    type: REST_TYPE,
    subtypes: [{ system: RESTFUL_INTERACTION, code: 'read' }],
    action: 'R',
    outcome: '0',
    entities: ['Patient/p\u001f3'],
    patients: ['Patient/p\u001f3', ''],
    query: 'q=\u001d',
  });
}

describe.each(testDatabases())('access-log rows stored by batch on $name', (database) => {
  let db: Database;
  beforeAll(async () => {
    db = await database.create();
  });
  afterAll(async () => {
    await db.close();
  });

  it('replaces the separators and U+0000 in a request’s text and leaves no empty array member', () => {
    const row = separatorsRow();
    expect(row.request_id).toBe('req-\uFFFD-separators');
    expect(row.user_agent).toBe('agent\uFFFDwith\uFFFDseparators\uFFFD\uFFFD');
    expect(row.purpose).toBe('PURPOSE\uFFFD');
    expect(row.query).toBe('q=\uFFFD');
    expect(row.entities).toEqual(['Patient/p\uFFFD3']);
    expect(row.patients).toEqual(['Patient/p\uFFFD3']);
  });

  it('stores every row as it was sent and hashes the rows as stored', async () => {
    const rows = [BARE, EMPTY, AWKWARD, separatorsRow()];
    const ctes = accessBatchCtes(rows.map(encodeAccessRow), SOURCE, false);
    const [stored] = await db.transaction((tx) =>
      tx.query(sql`with ${cteList(ctes)} select id as batch from access_batch`),
    );
    const batch = stored === undefined ? -1 : readNumber(stored, 'batch');
    const columns = joinSql(
      ACCESS_ROW_COLUMNS.map((column) => sql`a.${identifier(column)}`),
      ', ',
    );
    const read = await db.query(
      sql`select a.batch, a.position, ${columns} from audit_access a where a.batch = ${batch} order by a.position`,
    );
    const back = read.map(readAccessRow);
    expect(back.map((item) => item.row)).toEqual(rows);
    expect(back.map((item) => item.position)).toEqual([0, 1, 2, 3]);

    const [hashes] = await db.query(
      sql`select encode(row_sha256, 'hex') as hashes from audit_access_batch where batch = ${batch}`,
    );
    const expected = back.map((item) => sha256Hex(accessRowJson(item.row, item.position))).join('');
    expect(hashes === undefined ? '' : readString(hashes, 'hashes')).toBe(expected);

    // The patient index holds one row per (row, patient).
    const patients = await db.query(
      sql`select patient, position from audit_access_patient where batch = ${batch} order by position, patient`,
    );
    expect(patients.map((row) => [readNumber(row, 'position'), readString(row, 'patient')])).toEqual([
      [2, 'Patient/p,2'],
      [2, 'Patient/p-1'],
      [3, 'Patient/p\uFFFD3'],
    ]);
  });
});
