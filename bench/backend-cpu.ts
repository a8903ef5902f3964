/**
 * CPU accounting for in-process benchmarks (access-overhead.ts, audit-overhead.ts): the CPU time
 * of the bench's own PostgreSQL connections, read from `/proc/<backend pid>/schedstat` on a server
 * on this host. Throughput on a busy two-core machine moves with whatever else runs; CPU spent per
 * request does far less, so it is the figure to compare there.
 */
import { readFileSync } from 'node:fs';
import type { SqlExecutor } from '../packages/server/src/store/database.ts';
import { sql } from '../packages/server/src/store/sql.ts';

/** `url` with an `application_name` that tells the bench's connections apart in `pg_stat_activity`. */
export function withApplicationName(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('application_name', name);
  return parsed.toString();
}

export type BackendCpu = ReadonlyMap<number, number>;

/**
 * A reader of the CPU time (ms) each of the bench's database connections has used so far, or
 * undefined when it cannot be read (a PostgreSQL on another host, or whose processes this user
 * cannot see). The connections are listed when the reader is made (once per round: the pool opens
 * and closes connections as it likes); reading them is synchronous, so that it can surround one
 * request without a statement of its own.
 */
export async function backendCpu(
  db: SqlExecutor,
  application: string,
): Promise<(() => Promise<() => BackendCpu>) | undefined> {
  const list = async () => {
    const rows = await db.query(
      sql`select pid from pg_stat_activity where application_name = ${application}`,
    );
    const pids = rows.map((row) => Number(row.pid));
    return () => {
      const cpu = new Map<number, number>();
      for (const pid of pids) {
        // A connection the pool closed since it was listed has nothing more to count.
        const schedstat = readSchedstat(pid);
        if (schedstat !== undefined) cpu.set(pid, Number(schedstat.split(' ')[0]) / 1e6);
      }
      return cpu;
    };
  };
  return (await list())().size > 0 ? list : undefined;
}

function readSchedstat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/schedstat`, 'utf8');
  } catch {
    return undefined;
  }
}

/** CPU used between two readings by the connections present at both. */
export function cpuBetween(before: BackendCpu | undefined, after: BackendCpu | undefined): number {
  let total = 0;
  for (const [pid, ms] of after ?? []) {
    const start = before?.get(pid);
    if (start !== undefined) total += ms - start;
  }
  return total;
}
