/**
 * Who started a job, recorded in its params (`params.owner`) by the operations whose results are
 * private to the asker (bulk `$export`: export.html, the files hold everything the client was
 * allowed to read). Only the owner, an administrator or the server itself may see or cancel such
 * a job, through whichever door it is reached (`$export-status`, `$job`).
 */
import { isRecord } from '@concordia/fhir';
import type { Principal } from '../access/request-context.ts';
import type { JsonObject } from './job.ts';

export interface JobOwner {
  kind: Principal['kind'];
  id: string;
}

/** The owner of what `principal` starts: the client (or user) of the token, or the open principal. */
export function jobOwner(principal: Principal): JobOwner {
  switch (principal.kind) {
    case 'open-development':
    case 'anonymous':
      return { kind: principal.kind, id: principal.kind };
    default:
      return { kind: principal.kind, id: principal.id };
  }
}

/** The owner a job's params record; undefined when the job records none (`$reindex`). */
export function recordedJobOwner(params: JsonObject): JobOwner | undefined {
  const { owner } = params;
  if (!isRecord(owner) || typeof owner.id !== 'string' || !isPrincipalKind(owner.kind)) return undefined;
  return { kind: owner.kind, id: owner.id };
}

export function mayManageJob(principal: Principal, owner: JobOwner): boolean {
  if (principal.kind === 'system') return true;
  if (principal.kind === 'user' && principal.roles.includes('administrator')) return true;
  const asker = jobOwner(principal);
  return asker.kind === owner.kind && asker.id === owner.id;
}

const PRINCIPAL_KINDS: readonly Principal['kind'][] = [
  'open-development',
  'anonymous',
  'system',
  'user',
  'client',
];

function isPrincipalKind(value: unknown): value is Principal['kind'] {
  return PRINCIPAL_KINDS.some((kind) => kind === value);
}
