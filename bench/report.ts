/**
 * What a person reads after a run: the table, every non-2xx answer called out, and the
 * DESIGN.md §5 targets checked against this run's own floor.
 */
import type { RunContext, ScenarioReport } from './results.ts';

/** DESIGN.md §5 and the benchmark issue's done-when; meaningful on PostgreSQL, 2 cores. */
const readToFloorTarget = 0.8;
const createsPerSecondTarget = 1_000;
/** DESIGN.md §5: Synthea transaction-bundle ingest on PostgreSQL. */
const ingestResourcesPerSecondTarget = 3_000;

/** `create`, or `create without audit+ledger` for a `--without` measurement. */
export function reportLabel(report: Pick<ScenarioReport, 'scenario' | 'without'>): string {
  return report.without === undefined
    ? report.scenario
    : `${report.scenario} without ${report.without.join('+')}`;
}

function percent(ratio: number | undefined): string {
  return ratio === undefined ? '—' : `${(ratio * 100).toFixed(0)}%`;
}

export function formatTable(reports: ScenarioReport[]): string {
  const header = [
    'scenario',
    'req/s',
    '2xx/s',
    'res/s',
    'p50 ms',
    'p99 ms',
    'vs floor',
    'vs without',
    'non-2xx',
    'errors',
  ];
  const rows = reports.map((report) => [
    reportLabel(report),
    report.result.requestsPerSecond.toFixed(0),
    report.result.successesPerSecond.toFixed(0),
    report.result.resourcesPerSecond?.toFixed(0) ?? '—',
    report.result.latencyMs.p50.toFixed(1),
    report.result.latencyMs.p99.toFixed(1),
    percent(report.ratioToFloor),
    percent(report.ratioToWithout),
    report.result.non2xx > 0 ? `${report.result.non2xx} !!` : '0',
    report.result.errors > 0 ? `${report.result.errors} !!` : '0',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** One line per scenario that got anything other than a 2xx, with the status codes seen. */
export function formatFailures(reports: ScenarioReport[]): string[] {
  return reports
    .filter(({ result }) => result.non2xx > 0 || result.errors > 0)
    .map((report) => {
      const { result } = report;
      const statuses = Object.entries(result.statusCounts)
        .filter(([status]) => !status.startsWith('2'))
        .map(([status, count]) => `${status}×${count}`)
        .join(', ');
      return `!! ${reportLabel(report)}: ${result.non2xx} non-2xx (${statuses || 'none'}), ${result.errors} connection errors, ${result.timeouts} timeouts`;
    });
}

export function formatTargets(context: RunContext, reports: ScenarioReport[]): string[] {
  const lines: string[] = [];
  const everythingOn = reports.filter((report) => report.without === undefined);
  const read = everythingOn.find((report) => report.scenario === 'read');
  if (read?.ratioToFloor !== undefined) {
    lines.push(
      verdict(
        `read ≥ ${readToFloorTarget * 100}% of floor`,
        `${(read.ratioToFloor * 100).toFixed(0)}%`,
        read.ratioToFloor >= readToFloorTarget,
      ),
    );
  }
  const create = everythingOn.find((report) => report.scenario === 'create');
  if (create !== undefined) {
    const rate = create.result.successesPerSecond;
    lines.push(
      verdict(
        `create ≥ ${createsPerSecondTarget} resources/s`,
        `${rate.toFixed(0)}/s`,
        rate >= createsPerSecondTarget,
      ),
    );
  }
  const ingest = everythingOn.find((report) => report.scenario === 'ingest');
  const ingested = ingest?.result.resourcesPerSecond;
  if (ingested !== undefined) {
    lines.push(
      verdict(
        `ingest ≥ ${ingestResourcesPerSecondTarget} resources/s`,
        `${ingested.toFixed(0)}/s`,
        ingested >= ingestResourcesPerSecondTarget,
      ),
    );
  }
  for (const report of everythingOn) {
    const without = reports.find(
      (other) => other.scenario === report.scenario && other.without !== undefined,
    );
    if (without?.without === undefined || report.ratioToWithout === undefined) continue;
    lines.push(
      `       ${report.scenario} with ${without.without.join('+')} on: ${percent(report.ratioToWithout)} of the rate without`,
    );
  }
  if (lines.length > 0 && (context.database.kind !== 'postgresql' || context.machine.cpus !== 2)) {
    lines.push(
      `   (targets are defined for PostgreSQL on 2 cores; this run: ${context.database.version}, ${context.machine.cpus} cpus)`,
    );
  }
  return lines;
}

function verdict(target: string, measured: string, met: boolean): string {
  return `${met ? 'met   ' : 'MISSED'} ${target}: ${measured}`;
}
