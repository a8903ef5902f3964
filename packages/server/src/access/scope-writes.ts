/**
 * Writes under SMART v2 query-restricted scopes (scopes-and-launch-context.html, "Finer-grained
 * resource constraints using search parameters"): `patient/Observation.cu?category=laboratory`
 * lets an app create and update laboratory Observations only. A write hook (fhir/write-hooks.ts),
 * so every door and interaction is held to it — create, update, patch, delete, transaction and
 * batch entries, conditional writes, the importer:
 * - update, patch and delete (`u`, `d`): the resource as it is before the change must match a
 *   scope that grants the permission (an app may not turn a vital sign into a lab result, nor
 *   delete one);
 * - create and update (`c`, `u`): the resource as written must match one, checked before commit
 *   on its index rows — the same criteria SQL as reads (scope-criteria.ts), so what an app may
 *   write is exactly what such a scope lets it read.
 * A write outside is refused with 403, as a write outside the access rules is (store: writes out of
 * reach). The permission is the interaction's: POST creates (`c`), PUT and PATCH update (`u`, an
 * update that creates included, as the scope decision asked `u` for it), DELETE deletes (`d`).
 */
import { fhirError } from '@concordia/fhir';
import type { WriteHook } from '../fhir/write-hooks.ts';
import type { ResourceChange, StoreTransaction } from '../store/port.ts';
import { readBoolean } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { RequestContext } from './request-context.ts';
import {
  restrictionCondition,
  type TypeRestriction,
  tokenGrantOf,
  typeRestriction,
} from './scope-row-filter.ts';
import type { Permission } from './smart-scopes.ts';

interface PendingWrite {
  resourceType: string;
  id: string;
  permission: Permission;
  restriction: TypeRestriction;
}

export function scopeWriteHook(): WriteHook {
  // What each open transaction wrote under a restriction, to check as written before it commits.
  const pending = new WeakMap<StoreTransaction, Map<string, PendingWrite>>();
  return {
    // Not async: most writes are not restricted, and those cost no promise (bulk loads).
    beforeApply(change, { ctx, tx }) {
      const write = restrictedWrite(ctx, change);
      if (write === undefined) return;
      if (write.permission !== 'd') {
        const writes = pending.get(tx) ?? new Map<string, PendingWrite>();
        writes.set(`${write.resourceType}/${write.id}/${write.permission}`, write);
        pending.set(tx, writes);
      }
      return write.permission === 'c' ? undefined : refuseUnless(tx, write, 'before');
    },
    async beforeCommit(_versions, { tx }) {
      const writes = pending.get(tx);
      if (writes === undefined) return;
      pending.delete(tx);
      for (const write of writes.values()) await refuseUnless(tx, write, 'as written');
    },
  };
}

function restrictedWrite(ctx: RequestContext, change: ResourceChange): PendingWrite | undefined {
  const grant = tokenGrantOf(ctx.principal);
  if (grant === undefined) return undefined;
  const [resourceType, id] =
    change.kind === 'write'
      ? [change.resource.resourceType, change.resource.id]
      : [change.resourceType, change.id];
  const permission: Permission = change.kind === 'delete' ? 'd' : change.method === 'POST' ? 'c' : 'u';
  const restriction = typeRestriction(grant.scopes.resources, [permission], resourceType);
  return restriction.length === 0 ? undefined : { resourceType, id, permission, restriction };
}

/** Refuses the write when the current resource (if any) matches none of the permission's scopes. */
async function refuseUnless(tx: StoreTransaction, write: PendingWrite, when: 'before' | 'as written') {
  const { resourceType, id, permission, restriction } = write;
  const [row] =
    await tx.sql.query(sql`select ${restrictionCondition(sql`r`, restriction, resourceType)} as covered
    from resource r where r.resource_type = ${resourceType} and r.id = ${id} and not r.deleted`);
  if (row === undefined || readBoolean(row, 'covered')) return;
  const scopes = restriction.flatMap((covering) => covering.map((scope) => scope.raw));
  throw fhirError(
    'forbidden',
    'forbidden',
    `${resourceType}/${id} ${when === 'before' ? 'as it is now' : 'as written'} matches none of the scopes that grant '${permission}' on it: ${[...new Set(scopes)].join(' ')}`,
  );
}
