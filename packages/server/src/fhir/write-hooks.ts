/**
 * Writes mean more than data: a SearchParameter changes what the server indexes, a profile or a
 * terminology binding may refuse a resource, a signature policy may require a Provenance beside it.
 * A `WriteHook` sees every change of its type (or of every type), whatever the interaction
 * (create, update, patch, delete, a transaction entry, the importer), at three moments:
 * 1. before each change is applied, inside the transaction, where it may refuse it;
 * 2. once before the transaction commits, with every version it wrote — where rules that span
 *    entries are checked (a signed Provenance anywhere in the transaction Bundle);
 * 3. after the transaction committed.
 * A hook that throws a `FhirError` in 1 or 2 rolls the whole transaction back.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestContext } from '../access/request-context.ts';
import type { ResourceChange, ResourceStore, StoredVersion, StoreTransaction } from '../store/port.ts';

/** Where a hook runs: who writes, and the transaction it can read (and write) through. */
export interface WriteScope {
  ctx: RequestContext;
  tx: StoreTransaction;
}

export interface WriteHook {
  /** The resource type observed; absent: every type. */
  resourceType?: string;
  /** Inside the transaction, before the change is applied: throw a `FhirError` to refuse it. */
  beforeApply?(change: ResourceChange, scope: WriteScope): void | Promise<void>;
  /**
   * Inside the transaction, after its last change and before COMMIT, with every version of the
   * observed type(s) it wrote (in order): throw a `FhirError` to roll it all back.
   */
  beforeCommit?(versions: readonly StoredVersion[], scope: WriteScope): Promise<void>;
  /**
   * After the commit, with the versions of the observed type(s) it wrote (tombstones too). The
   * write has happened whatever this does: it must handle its own failures.
   */
  afterCommit?(versions: readonly StoredVersion[]): Promise<void>;
}

function observes(hook: WriteHook, resourceType: string): boolean {
  return hook.resourceType === undefined || hook.resourceType === resourceType;
}

/**
 * The write transaction the current async call runs in, for services that hooks call without
 * handing it over (the terminology service behind master-data and binding checks): they must read
 * through it, because on PGlite (one connection) a query outside the open transaction waits for
 * it to end — which it never does while the hook waits for the query.
 */
const currentWrite = new AsyncLocalStorage<StoreTransaction>();

export function currentWriteTransaction(): StoreTransaction | undefined {
  return currentWrite.getStore();
}

/** `InteractionEnv.write` with `hooks` observing the changes; the plain store transaction without hooks. */
export function hookedWrite(
  store: ResourceStore,
  ctx: RequestContext,
  hooks: readonly WriteHook[],
): <T>(work: (tx: StoreTransaction) => Promise<T>) => Promise<T> {
  if (hooks.length === 0) return (work) => store.transact(ctx, (tx) => currentWrite.run(tx, () => work(tx)));
  return async (work) => {
    const written: StoredVersion[] = [];
    const result = await store.transact(ctx, async (tx) => {
      const scope: WriteScope = { ctx, tx };
      const hooked: StoreTransaction = {
        ...tx,
        async apply(applyCtx, change) {
          const type = change.kind === 'write' ? change.resource.resourceType : change.resourceType;
          const observing = hooks.filter((hook) => observes(hook, type));
          for (const hook of observing) await hook.beforeApply?.(change, { ctx: applyCtx, tx: hooked });
          const version = await tx.apply(applyCtx, change);
          if (observing.length > 0) written.push(version);
          return version;
        },
      };
      scope.tx = hooked;
      return currentWrite.run(hooked, async () => {
        const value = await work(hooked);
        for (const hook of hooks) {
          if (hook.beforeCommit === undefined) continue;
          const versions = written.filter((version) => observes(hook, version.resourceType));
          if (versions.length > 0) await hook.beforeCommit(versions, scope);
        }
        return value;
      });
    });
    for (const hook of hooks) {
      const versions = written.filter((version) => observes(hook, version.resourceType));
      if (versions.length > 0 && hook.afterCommit !== undefined) await hook.afterCommit(versions);
    }
    return result;
  };
}
