/**
 * The messages between the bench runner and its load worker process. The worker's input crosses
 * a process boundary, so it is checked once here instead of trusted.
 */
import type { LoadPlan } from './scenarios.ts';

export interface LoadJob {
  url: string;
  plan: LoadPlan;
  durationSeconds: number;
  connections: number;
}

export interface LoadResult {
  /** Mean of autocannon's per-second samples. */
  requestsPerSecond: number;
  /** 2xx responses per second of measured time: the resources/s of `create`. */
  successesPerSecond: number;
  /** Resources written per second by the 2xx answers, for Bundle scenarios (ingest). */
  resourcesPerSecond?: number;
  totalRequests: number;
  successes: number;
  non2xx: number;
  /** Connection errors and timeouts: requests that got no HTTP answer at all. */
  errors: number;
  timeouts: number;
  statusCounts: Record<string, number>;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  durationSeconds: number;
  connections: number;
}

export type WorkerMessage = { kind: 'result'; result: LoadResult } | { kind: 'failure'; message: string };

export function parseLoadJob(message: unknown): LoadJob {
  if (!isRecord(message)) throw new TypeError('load job must be an object');
  const { url, plan, durationSeconds, connections } = message;
  if (typeof url !== 'string' || typeof durationSeconds !== 'number' || typeof connections !== 'number') {
    throw new TypeError('load job needs url, durationSeconds and connections');
  }
  return { url, plan: parseLoadPlan(plan), durationSeconds, connections };
}

function parseLoadPlan(value: unknown): LoadPlan {
  if (!isRecord(value)) throw new TypeError('load plan must be an object');
  const { method, pathTemplate, body, ids } = value;
  if (method !== 'GET' && method !== 'POST' && method !== 'PUT')
    throw new TypeError(`unsupported method ${method}`);
  if (typeof pathTemplate !== 'string') throw new TypeError('pathTemplate must be a string');
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string'))
    throw new TypeError('ids must be strings');
  if (!isRecord(body)) throw new TypeError('body must be an object');
  const kind = body.kind;
  if (kind === 'synthea-bundles') {
    const files = body.files;
    if (!Array.isArray(files) || !files.every((file) => typeof file === 'string'))
      throw new TypeError('synthea-bundles needs a list of files');
    return { method, pathTemplate, body: { kind, files }, ids };
  }
  if (kind !== 'none' && kind !== 'new-patient' && kind !== 'patient-with-id') {
    throw new TypeError(`unknown body kind ${kind}`);
  }
  return { method, pathTemplate, body: { kind }, ids };
}

export function parseWorkerMessage(message: unknown): WorkerMessage {
  if (isRecord(message) && message.kind === 'failure' && typeof message.message === 'string') {
    return { kind: 'failure', message: message.message };
  }
  if (isRecord(message) && message.kind === 'result' && isLoadResult(message.result)) {
    return { kind: 'result', result: message.result };
  }
  throw new TypeError('unexpected message from the load worker');
}

const loadResultNumbers = [
  'requestsPerSecond',
  'successesPerSecond',
  'totalRequests',
  'successes',
  'non2xx',
  'errors',
  'timeouts',
  'durationSeconds',
  'connections',
] as const;
const latencyNumbers = ['mean', 'p50', 'p90', 'p99', 'max'] as const;

function isLoadResult(value: unknown): value is LoadResult {
  if (!isRecord(value)) return false;
  const { latencyMs, statusCounts } = value;
  return (
    loadResultNumbers.every((key) => typeof value[key] === 'number') &&
    isRecord(latencyMs) &&
    latencyNumbers.every((key) => typeof latencyMs[key] === 'number') &&
    isRecord(statusCounts) &&
    Object.values(statusCounts).every((count) => typeof count === 'number')
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
