/** The columns a version is read from, shared by `resource` and `resource_history`. */
import type { Row } from './database.ts';
import type { ChangeMethod, StoredVersion } from './port.ts';
import { readBoolean, readNumber, readOptionalString, readString } from './rows.ts';
import { sql } from './sql.ts';

export const versionColumns = sql`resource_type, id, version_id, last_updated, method, deleted, content`;

const METHODS: readonly ChangeMethod[] = ['POST', 'PUT', 'PATCH', 'DELETE'];

export function readMethod(row: Row, column: string): ChangeMethod {
  const text = readString(row, column);
  const method = METHODS.find((candidate) => candidate === text);
  if (method === undefined) throw new TypeError(`Column ${column}: unknown change method ${text}`);
  return method;
}

export function storedVersionFromRow(row: Row): StoredVersion {
  const json = readOptionalString(row, 'content');
  return {
    resourceType: readString(row, 'resource_type'),
    id: readString(row, 'id'),
    versionId: readNumber(row, 'version_id'),
    lastUpdated: readString(row, 'last_updated'),
    method: readMethod(row, 'method'),
    deleted: readBoolean(row, 'deleted'),
    ...(json !== undefined ? { json } : {}),
  };
}
