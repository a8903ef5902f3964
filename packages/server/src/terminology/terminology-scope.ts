/**
 * Where one terminology call reads: the database, or — when it runs inside a write transaction (a
 * master-data or binding check in a write hook) — that transaction, whose connection is the only
 * one PGlite has while it is open (write-hooks.ts `currentWriteTransaction`).
 */
import { currentWriteTransaction } from '../fhir/write-hooks.ts';
import { type Database, type SqlExecutor, sqlState, UNIQUE_VIOLATION } from '../store/database.ts';
import type { StoreReads } from '../store/port.ts';
import { sql } from '../store/sql.ts';
import type { CodeSystemContent } from './code-system-content.ts';
import { loadCodeSystem, writeCodeSystem } from './load-code-system.ts';

export interface TerminologyScope {
  sql: SqlExecutor;
  /** Stored resources (ValueSets) as this scope sees them. */
  reads: StoreReads;
  /**
   * Inside a write transaction, answers may rest on its uncommitted changes (a CodeSystem written
   * in the same Bundle), so they are never cached.
   */
  inTransaction: boolean;
  /** Loads a code system where this scope reads (the specification's, on first use). */
  load(content: CodeSystemContent): Promise<void>;
}

/**
 * The scope of a call: the write transaction it runs in, if any, else `outside` (`databaseScope`,
 * built once: it is the same for every call, and lookups are the hot path).
 */
export function terminologyScope(outside: TerminologyScope): TerminologyScope {
  const tx = currentWriteTransaction();
  if (tx === undefined) return outside;
  return {
    sql: tx.sql,
    reads: tx,
    inTransaction: true,
    async load(content) {
      // A savepoint, so that losing the race to another loader does not abort the caller's write.
      await tx.sql.query(sql`savepoint terminology_load`);
      try {
        await writeCodeSystem(tx.sql, content);
        await tx.sql.query(sql`release savepoint terminology_load`);
      } catch (error) {
        await tx.sql.query(sql`rollback to savepoint terminology_load`);
        if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      }
    },
  };
}

/** Reads and loads on the database itself, outside any write transaction. */
export function databaseScope(db: Database, store: StoreReads): TerminologyScope {
  return {
    sql: db,
    reads: store,
    inTransaction: false,
    async load(content) {
      try {
        await loadCodeSystem(db, content);
      } catch (error) {
        // Another request (or node) loaded it first: its copy is the same.
        if (sqlState(error) !== UNIQUE_VIOLATION) throw error;
      }
    },
  };
}
