/**
 * A `Database` whose queries, issued from inside one of its transactions, join that transaction.
 *
 * Write hooks run inside the store's transaction and ask services that hold the `Database` (the
 * terminology service checking a code before a Condition is written). On PGlite, one connection
 * behind one mutex, such a query would wait for the transaction it runs in and never run; on
 * PostgreSQL it would take a second pooled connection per write (a pool of n deadlocks at n
 * concurrent writes) and not see the transaction's own rows. Joining fixes all three: the query
 * runs on the transaction's connection and sees what the transaction wrote. A `transaction()` begun
 * inside another joins it too (its work commits or rolls back with the outer one).
 *
 * The transaction is found through AsyncLocalStorage; a timer or promise that outlives the
 * transaction (an audit flush scheduled during a write) falls back to the database once the
 * transaction has ended.
 *
 * Not a second copy of write-hooks.ts `currentWriteTransaction`: that is the `StoreTransaction` of
 * a hooked FHIR write, whose statements first write the rows it has queued (batched-writes.ts) and
 * whose reads know its uncommitted writes; this is the bare connection of any transaction begun on
 * this `Database`, for whatever holds only the `Database`: a query through it does not write the
 * store transaction's queued rows first. Replacing either with the other would change what is read.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Database, SqlExecutor, TransactionExecutor } from './database.ts';

interface OpenTransaction {
  tx: TransactionExecutor;
  open: boolean;
}

export function joiningTransactions(database: Database): Database {
  const current = new AsyncLocalStorage<OpenTransaction>();
  const active = (): TransactionExecutor | undefined => {
    const state = current.getStore();
    return state?.open === true ? state.tx : undefined;
  };
  const executor = (): SqlExecutor => active() ?? database;
  return {
    kind: database.kind,
    query: (statement) => executor().query(statement),
    executeScript: (script) => executor().executeScript(script),
    async transaction(work) {
      const joined = active();
      if (joined !== undefined) return work(joined);
      return database.transaction(async (tx) => {
        const state: OpenTransaction = { tx, open: true };
        try {
          return await current.run(state, () => work(tx));
        } finally {
          state.open = false;
        }
      });
    },
    close: () => database.close(),
    poolStats: () => database.poolStats(),
  };
}
