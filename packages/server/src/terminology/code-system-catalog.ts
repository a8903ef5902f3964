/**
 * Which loaded version of a code system answers (migration 0010 `code_system`): the one asked for,
 * else the current one (loaded last). A code system of the R4 specification that is not in the
 * tables yet is loaded on first use, so FHIR's own codes answer with no import step.
 */
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readOptionalString, readString } from '../store/rows.ts';
import { prepared, sql } from '../store/sql.ts';
import { codeSystemResourceContent } from './code-system-resource.ts';
import type { SpecTerminology } from './spec-terminology.ts';
import type { TerminologyScope } from './terminology-scope.ts';

export interface CodeSystemVersion {
  id: number;
  url: string;
  version: string;
  name: string;
  language?: string;
}

export interface CodeSystemCatalog {
  resolve(scope: TerminologyScope, url: string, version?: string): Promise<CodeSystemVersion | undefined>;
}

export function codeSystemCatalog(spec: SpecTerminology): CodeSystemCatalog {
  const find = async (
    db: SqlExecutor,
    url: string,
    version: string | undefined,
  ): Promise<CodeSystemVersion | undefined> => {
    const [row] = await db.query(
      prepared(sql`select id, url, version, name, language from code_system
        where url = ${url} and (${version ?? null}::text is null or version = ${version ?? null}::text)
        order by loaded_at desc, id desc limit 1`),
    );
    if (row === undefined) return undefined;
    const language = readOptionalString(row, 'language');
    return {
      id: readNumber(row, 'id'),
      url: readString(row, 'url'),
      version: readString(row, 'version'),
      name: readString(row, 'name'),
      ...(language !== undefined ? { language } : {}),
    };
  };
  return {
    async resolve(scope, url, version) {
      const found = await find(scope.sql, url, version);
      if (found !== undefined) return found;
      const resource = spec.codeSystem(url);
      const content = resource === undefined ? undefined : codeSystemResourceContent(resource);
      if (content === undefined || (version !== undefined && version !== content.header.version))
        return undefined;
      await scope.load(content);
      return find(scope.sql, url, version);
    },
  };
}
