/**
 * Writes of some resource types mean more than data: a SearchParameter changes what the server
 * indexes. A `WriteHook` sees every change of its type, whatever the interaction (create, update,
 * patch, delete, a transaction entry, the importer): before it is applied, inside the
 * transaction, where it may refuse it; and after the transaction committed.
 */
import type { RequestContext } from '../access/request-context.ts';
import type { ResourceChange, ResourceStore, StoredVersion, StoreTransaction } from '../store/port.ts';

export interface WriteHook {
  resourceType: string;
  /** Inside the transaction, before the change is applied: throw a `FhirError` to refuse it. */
  beforeApply?(change: ResourceChange): void;
  /**
   * After the commit, with the versions of `resourceType` it wrote (tombstones too). The write has
   * happened whatever this does: it must handle its own failures.
   */
  afterCommit?(versions: readonly StoredVersion[]): Promise<void>;
}

/** `InteractionEnv.write` with `hooks` observing the changes; the plain store transaction without hooks. */
export function hookedWrite(
  store: ResourceStore,
  ctx: RequestContext,
  hooks: readonly WriteHook[],
): <T>(work: (tx: StoreTransaction) => Promise<T>) => Promise<T> {
  if (hooks.length === 0) return (work) => store.transact(ctx, work);
  return async (work) => {
    const written: StoredVersion[] = [];
    const result = await store.transact(ctx, (tx) =>
      work({
        ...tx,
        async apply(applyCtx, change) {
          const type = change.kind === 'write' ? change.resource.resourceType : change.resourceType;
          const observing = hooks.filter((hook) => hook.resourceType === type);
          for (const hook of observing) hook.beforeApply?.(change);
          const version = await tx.apply(applyCtx, change);
          if (observing.length > 0) written.push(version);
          return version;
        },
      }),
    );
    for (const hook of hooks) {
      const versions = written.filter((version) => version.resourceType === hook.resourceType);
      if (versions.length > 0 && hook.afterCommit !== undefined) await hook.afterCommit(versions);
    }
    return result;
  };
}
