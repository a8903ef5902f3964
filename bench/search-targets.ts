/**
 * The search targets of issue 3's done-when, checked against a run: p99 ≤ 20 ms for each common
 * search, `AllergyIntolerance?patient=` p99 ≤ 10 ms, `Patient?name=` ≥ 1,300 req/s. They are
 * defined for PostgreSQL with 1,000,000 resources on 2 cores; the verdict says when a run differs.
 * A scenario that got any non-2xx answer is not measured at all (a fast 501 is not a fast search),
 * nor is one whose probe answer reported an ignored parameter (search-probe.ts).
 */
import type { ScenarioName } from './options.ts';
import type { RunContext, ScenarioReport } from './results.ts';
import type { SearchProbe } from './search-probe.ts';
import { isSearchScenario, searchScenarios } from './search-scenarios.ts';

/** The dataset size the issue's targets are defined at. */
const targetResources = 1_000_000;

export function formatSearchTargets(
  context: RunContext,
  reports: ScenarioReport[],
  datasetResources: number,
  probes: ReadonlyMap<ScenarioName, SearchProbe>,
): string[] {
  const lines = reports.flatMap(({ scenario, result }) => {
    if (!isSearchScenario(scenario)) return [];
    const search = searchScenarios[scenario];
    const caveat = search.caveat === undefined ? '' : ` (${search.caveat})`;
    if (result.non2xx > 0 || result.errors > 0 || result.successes === 0) {
      const seen = Object.keys(result.statusCounts).join(', ') || 'no answers';
      return [`NOT MEASURED ${scenario}: not every answer was 2xx (statuses ${seen})${caveat}`];
    }
    const issues = probes.get(scenario)?.issues ?? [];
    if (issues.length > 0) {
      return [
        `NOT MEASURED ${scenario}: the server reported issues with the query (${issues.join(' | ')})${caveat}`,
      ];
    }
    const checks = [
      verdict(
        `${scenario} p99 ≤ ${search.p99TargetMs} ms`,
        `${result.latencyMs.p99} ms`,
        result.latencyMs.p99 <= search.p99TargetMs,
      ) + caveat,
    ];
    const rateTarget = search.successesPerSecondTarget;
    if (rateTarget !== undefined) {
      checks.push(
        verdict(
          `${scenario} ≥ ${rateTarget.toLocaleString('en')} req/s`,
          `${result.successesPerSecond.toFixed(0)}/s`,
          result.successesPerSecond >= rateTarget,
        ),
      );
    }
    return checks;
  });
  const standard =
    context.database.kind === 'postgresql' &&
    context.machine.cpus === 2 &&
    datasetResources >= targetResources;
  if (lines.length > 0 && !standard) {
    lines.push(
      `   (search targets are defined for PostgreSQL on 2 cores with ${targetResources.toLocaleString('en')} resources; ` +
        `this run: ${context.database.version}, ${context.machine.cpus} cpus, ${datasetResources.toLocaleString('en')} resources)`,
    );
  }
  return lines;
}

function verdict(target: string, measured: string, met: boolean): string {
  return `${met ? 'MET   ' : 'MISSED'} ${target}: ${measured}`;
}
