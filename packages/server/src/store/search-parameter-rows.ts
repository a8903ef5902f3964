/**
 * What the server's custom search parameters are loaded from: the current SearchParameter
 * resources (each with the history `seq` of its current version, which orders SearchParameter
 * changes without trusting any clock), and `search_parameter_coverage` (migration 0005), which
 * says for which types a reindex has indexed which version of each parameter.
 */
import { isRecord } from '@concordia/fhir';
import type { SqlExecutor } from './database.ts';
import { readNumber, readString } from './rows.ts';
import { sql } from './sql.ts';

export interface StoredSearchParameter {
  id: string;
  /** `resource_history.seq` of the current version. */
  versionSeq: number;
  resource: Record<string, unknown>;
}

export interface SearchParameterCoverage {
  searchParameterId: string;
  resourceType: string;
  /** Every current resource of `resourceType` is indexed with the version written at this seq (or later). */
  versionSeq: number;
}

export interface SearchParameterSource {
  /**
   * Changes whenever a SearchParameter is written or deleted, or coverage is recorded; cheap
   * enough to poll every few seconds (an index-only scan and a tiny table).
   */
  marker(): Promise<string>;
  load(): Promise<{ stored: StoredSearchParameter[]; coverage: SearchParameterCoverage[] }>;
  /** Raises coverage to the given versions (never lowers it). */
  recordCoverage(entries: readonly SearchParameterCoverage[]): Promise<void>;
  /** Milliseconds since the last SearchParameter change by the database clock; undefined: none. */
  sinceLastChangeMs(): Promise<number | undefined>;
}

export function searchParameterSource(db: SqlExecutor): SearchParameterSource {
  return {
    async marker() {
      const [row] = await db.query(sql`select concat_ws(':',
          (select max(seq) from resource_history where resource_type = 'SearchParameter'),
          (select count(*) from search_parameter_coverage),
          (select sum(version_seq) from search_parameter_coverage)) as marker`);
      return row === undefined ? '' : readString(row, 'marker');
    },
    async load() {
      const rows = await db.query(sql`select r.id, r.content, h.seq from resource r
        join resource_history h on h.resource_type = r.resource_type and h.id = r.id and h.version_id = r.version_id
        where r.resource_type = 'SearchParameter' and not r.deleted
        order by h.seq`);
      const stored = rows.flatMap((row): StoredSearchParameter[] => {
        const resource: unknown = JSON.parse(readString(row, 'content'));
        return isRecord(resource)
          ? [{ id: readString(row, 'id'), versionSeq: readNumber(row, 'seq'), resource }]
          : [];
      });
      const coverage = (
        await db.query(
          sql`select search_parameter_id, resource_type, version_seq from search_parameter_coverage`,
        )
      ).map((row) => ({
        searchParameterId: readString(row, 'search_parameter_id'),
        resourceType: readString(row, 'resource_type'),
        versionSeq: readNumber(row, 'version_seq'),
      }));
      return { stored, coverage };
    },
    async recordCoverage(entries) {
      if (entries.length === 0) return;
      await db.query(sql`insert into search_parameter_coverage (search_parameter_id, resource_type, version_seq)
        select * from unnest(${entries.map((e) => e.searchParameterId)}::text[],
          ${entries.map((e) => e.resourceType)}::text[], ${entries.map((e) => e.versionSeq)}::bigint[])
        on conflict (search_parameter_id, resource_type) do update
          set version_seq = greatest(search_parameter_coverage.version_seq, excluded.version_seq)`);
    },
    async sinceLastChangeMs() {
      const [row] =
        await db.query(sql`select (extract(epoch from now() - max(last_updated)) * 1000)::float8 as age
        from resource_history where resource_type = 'SearchParameter'`);
      const age = row?.age;
      return typeof age === 'number' ? age : undefined;
    },
  };
}
