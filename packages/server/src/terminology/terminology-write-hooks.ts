/**
 * Stored terminology resources keep the concept tables in step, in the transaction that writes
 * them (write-hooks.ts `beforeCommit`, through `StoreTransaction.sql`): a CodeSystem with its
 * concepts (`content` complete or fragment) is loaded like an imported release, a ConceptMap's
 * elements become translatable, and a deleted or emptied resource takes its rows with it. Any of
 * the three — ValueSets too — bumps the terminology revision, which retires cached expansions.
 */
import { fhirError } from '@concordia/fhir';
import type { WriteHook } from '../fhir/write-hooks.ts';
import type { SqlExecutor } from '../store/database.ts';
import type { StoredVersion } from '../store/port.ts';
import { readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import { codeSystemResourceContent, conceptMapResourceContent } from './code-system-resource.ts';
import { CodeSystemContentError, removeCodeSystem, writeCodeSystem } from './load-code-system.ts';
import { removeConceptMap, writeConceptMap } from './load-concept-map.ts';
import { bumpTerminologyRevision } from './terminology-revision.ts';

type Json = Record<string, unknown>;

export function terminologyWriteHooks(): WriteHook[] {
  return [
    {
      resourceType: 'CodeSystem',
      async beforeCommit(versions, scope) {
        for (const version of lastVersionOfEach(versions)) await syncCodeSystem(scope.tx.sql, version);
      },
    },
    {
      resourceType: 'ConceptMap',
      async beforeCommit(versions, scope) {
        for (const version of lastVersionOfEach(versions)) await syncConceptMap(scope.tx.sql, version);
      },
    },
    {
      resourceType: 'ValueSet',
      async beforeCommit(_versions, scope) {
        await bumpTerminologyRevision(scope.tx.sql);
      },
    },
  ];
}

function lastVersionOfEach(versions: readonly StoredVersion[]): StoredVersion[] {
  return [...new Map(versions.map((version) => [version.id, version])).values()];
}

async function syncCodeSystem(tx: SqlExecutor, version: StoredVersion): Promise<void> {
  const resource = parsed(version);
  const content = resource === undefined ? undefined : codeSystemResourceContent(resource);
  const earlier = await tx.query(sql`select url, version from code_system where resource_id = ${version.id}`);
  for (const row of earlier) {
    const same =
      content !== undefined && content.header.url === row.url && content.header.version === row.version;
    if (!same) await removeCodeSystem(tx, readString(row, 'url'), readString(row, 'version'));
  }
  if (content === undefined) return;
  try {
    await writeCodeSystem(tx, content, { resourceId: version.id });
  } catch (error) {
    if (error instanceof CodeSystemContentError) {
      throw fhirError('invalid', 'business-rule', error.message, ['CodeSystem.concept']);
    }
    throw error;
  }
}

async function syncConceptMap(tx: SqlExecutor, version: StoredVersion): Promise<void> {
  const resource = parsed(version);
  const content = resource === undefined ? undefined : conceptMapResourceContent(resource);
  const earlier = await tx.query(sql`select url, version from concept_map where resource_id = ${version.id}`);
  for (const row of earlier) {
    const same = content !== undefined && content.url === row.url && content.version === row.version;
    if (!same) await removeConceptMap(tx, readString(row, 'url'), readString(row, 'version'));
  }
  if (content !== undefined) await writeConceptMap(tx, content, { resourceId: version.id });
}

function parsed(version: StoredVersion): Json | undefined {
  if (version.deleted || version.json === undefined) return undefined;
  const value: unknown = JSON.parse(version.json);
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value))
    : undefined;
}
