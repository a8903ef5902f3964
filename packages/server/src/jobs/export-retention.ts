/**
 * How long bulk export files live (`CONCORDIA_EXPORT_RETENTION_HOURS`): from the moment the export
 * finished. A status request after that answers 404 and removes the files at once; a periodic
 * sweep (main.ts) removes the files nobody asked about, and those of cancelled jobs.
 */
import { sweepExports } from './export-files.ts';
import type { Job, JobQueue } from './job.ts';

/** When the files of a finished export expire; undefined while it runs. */
export function exportExpires(job: Job, retentionHours: number): Date | undefined {
  if (job.finishedAt === undefined) return undefined;
  return new Date(Date.parse(job.finishedAt) + retentionHours * 3_600_000);
}

/** Whether the export still needs its files: running, or finished within the retention. */
export function exportIsLive(job: Job, retentionHours: number, now = Date.now()): boolean {
  if (job.status === 'queued' || job.status === 'running') return true;
  if (job.status === 'cancelled') return false;
  const expires = exportExpires(job, retentionHours);
  return expires !== undefined && expires.getTime() > now;
}

/** Removes the output of every export that is over; returns how many directories it removed. */
export function sweepExpiredExports(root: string, jobs: JobQueue, retentionHours: number): Promise<number> {
  return sweepExports(root, async (id) => {
    const job = await jobs.get(id);
    return job !== undefined && exportIsLive(job, retentionHours);
  });
}
