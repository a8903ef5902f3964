import { afterEach, describe, expect, it } from 'vitest';
import { contentSha256, ledgerEntriesSql } from '../../src/ledger/ledger-entries.ts';
import type { Database } from '../../src/store/database.ts';
import { readNumber, readString } from '../../src/store/rows.ts';
import { sql } from '../../src/store/sql.ts';
import { testDatabases } from '../support/databases.ts';

describe.each(testDatabases())('ledgerEntriesSql on $name', (testDatabase) => {
  let db: Database | undefined;
  afterEach(async () => {
    await db?.close();
    db = undefined;
  });

  it('appends one unsequenced entry per input with the SHA-256 of the canonical JSON', async () => {
    db = await testDatabase.create();
    await db.query(
      ledgerEntriesSql([
        { kind: 'resource-version', reference: 'Patient/1/_history/1', canonicalJson: '{"a":1}' },
        { kind: 'audit-event', reference: 'AuditEvent/x', canonicalJson: '{"b":2}' },
      ]),
    );
    const rows = await db.query(
      sql`select kind, reference, encode(content_sha256, 'hex') as sha from ledger_entry order by entry_id`,
    );
    expect(rows.map((row) => [row.kind, row.reference, row.sha])).toEqual([
      ['resource-version', 'Patient/1/_history/1', contentSha256('{"a":1}')],
      ['audit-event', 'AuditEvent/x', contentSha256('{"b":2}')],
    ]);
    expect(contentSha256('{"a":1}')).toBe('015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862');
  });

  it('runs as a CTE of another statement and inserts nothing when its condition fails', async () => {
    db = await testDatabase.create();
    const entry = { kind: 'audit-event' as const, reference: 'AuditEvent/y', canonicalJson: '{}' };
    await db.query(
      sql`with written as (select 1 where false), recorded as (${ledgerEntriesSql([entry], { when: sql`exists (select from written)` })}) select 1`,
    );
    await db.query(sql`with recorded as (${ledgerEntriesSql([entry])}) select 1`);
    const [row] = await db.query(
      sql`select count(*)::int as entries, min(reference) as reference from ledger_entry`,
    );
    expect(row === undefined ? 0 : readNumber(row, 'entries')).toBe(1);
    expect(row === undefined ? '' : readString(row, 'reference')).toBe('AuditEvent/y');
  });
});
