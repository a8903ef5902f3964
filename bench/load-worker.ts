/**
 * The load generator's own process (forked by load-driver.ts): autocannon must not share an event
 * loop with the server it measures, or the server's numbers include the generator's work.
 * Receives one LoadJob over IPC, runs it, answers with one WorkerMessage and exits.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { type LoadJob, type LoadResult, parseLoadJob, type WorkerMessage } from './load-protocol.ts';
import { benchPatient } from './patient-fixture.ts';
import type { LoadPlan } from './scenarios.ts';

/** Bodies are prepared before the clock starts so the generator spends its time sending, not serialising. */
const preparedBodyCount = 2_000;

process.once('message', (message: unknown) => {
  runJob(message).then(reply, (error: unknown) =>
    reply({
      kind: 'failure',
      message: error instanceof Error ? (error.stack ?? error.message) : String(error),
    }),
  );
});

async function runJob(message: unknown): Promise<WorkerMessage> {
  const job = parseLoadJob(message);
  const bundles = job.plan.body.kind === 'synthea-bundles' ? await bundleRequests(job.plan) : undefined;
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.durationSeconds,
    pipelining: 1,
    // Bundles of a thousand entries take longer than autocannon's default 10 s under load.
    timeout: 60,
    method: job.plan.method,
    headers: job.plan.body.kind === 'none' ? {} : { 'content-type': 'application/fhir+json' },
    requests: [bundles?.request ?? { setupRequest: requestMaker(job.plan) }],
  });
  const summary = summarise(result, job);
  if (bundles !== undefined)
    summary.resourcesPerSecond = bundles.resourcesWritten() / summary.durationSeconds;
  return { kind: 'result', result: summary };
}

/**
 * Sends the Bundles in turn and counts the entries of those answered 2xx. Each connection has one
 * request in flight (pipelining 1), so the connection's context says which Bundle an answer is for.
 */
async function bundleRequests(
  plan: LoadPlan,
): Promise<{ request: AutocannonRequest; resourcesWritten(): number }> {
  if (plan.body.kind !== 'synthea-bundles') throw new Error('not a Bundle plan');
  const bundles = await Promise.all(plan.body.files.map(readBundle));
  let next = 0;
  let written = 0;
  return {
    request: {
      setupRequest(request, context) {
        const bundle = bundles[next % bundles.length];
        next += 1;
        context.entries = bundle?.entries ?? 0;
        return { ...request, path: plan.pathTemplate, body: bundle?.body ?? '' };
      },
      onResponse(status, _body, context) {
        if (status >= 200 && status < 300 && typeof context.entries === 'number') written += context.entries;
      },
    },
    resourcesWritten: () => written,
  };
}

async function readBundle(file: string): Promise<{ body: string; entries: number }> {
  const bytes = await readFile(file);
  const body = (file.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
  const bundle: unknown = JSON.parse(body);
  const entries =
    typeof bundle === 'object' && bundle !== null && 'entry' in bundle && Array.isArray(bundle.entry)
      ? bundle.entry.length
      : 0;
  return { body, entries };
}

function requestMaker(plan: LoadPlan): (request: AutocannonRequest) => AutocannonRequest {
  const { ids, pathTemplate } = plan;
  const randomId = (): string => ids[Math.floor(Math.random() * ids.length)] ?? '';
  switch (plan.body.kind) {
    case 'none':
      return (request) => ({ ...request, path: pathTemplate.replace('{id}', randomId()) });
    case 'new-patient': {
      const bodies = Array.from({ length: preparedBodyCount }, (_, n) => JSON.stringify(benchPatient(n)));
      let next = 0;
      return (request) => {
        next = (next + 1) % bodies.length;
        return { ...request, path: pathTemplate, body: bodies[next] ?? '' };
      };
    }
    case 'synthea-bundles':
      throw new Error('Bundle plans are prepared by bundleRequests');
    case 'patient-with-id': {
      // Each update changes the content (a different fixture number), so a server that skips
      // no-op updates cannot look faster than one that writes every version.
      let variant = 0;
      return (request) => {
        const id = randomId();
        variant += 1;
        const body = JSON.stringify(benchPatient(variant, id));
        return { ...request, path: pathTemplate.replace('{id}', id), body };
      };
    }
  }
}

function summarise(result: AutocannonResult, job: LoadJob): LoadResult {
  const statusCounts: Record<string, number> = {};
  for (const [status, { count }] of Object.entries(result.statusCodeStats))
    statusCounts[status] = Number(count);
  const durationSeconds = result.duration > 0 ? result.duration : job.durationSeconds;
  return {
    requestsPerSecond: result.requests.average,
    successesPerSecond: result['2xx'] / durationSeconds,
    totalRequests: result.requests.total,
    successes: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCounts,
    latencyMs: {
      mean: result.latency.mean,
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    durationSeconds,
    connections: job.connections,
  };
}

function reply(message: WorkerMessage): void {
  if (process.send === undefined) {
    console.error('load-worker.ts must be started by load-driver.ts (it needs an IPC channel)');
    process.exit(2);
  }
  process.send(message, () => process.exit(0));
}
