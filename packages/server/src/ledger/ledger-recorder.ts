/**
 * The ledger's `VersionRecorder` (store/port.ts): every resource version the store writes,
 * tombstones included, appends its ledger entry in the same statement as the version itself.
 * The content is the JSON exactly as stored (parsed back, then canonicalised), so `ledger verify`
 * can recompute the same hash from the `resource_history` row alone.
 */
import { CanonicalJsonError, canonicalJson, tombstoneContent } from '@concordia/fhir';
import type { StoredVersion, VersionRecorder } from '../store/port.ts';
import { sql } from '../store/sql.ts';
import { type LedgerEntryInput, ledgerEntriesSql } from './ledger-entries.ts';

export function versionReference(version: Pick<StoredVersion, 'resourceType' | 'id' | 'versionId'>): string {
  return `${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/**
 * What a stored version is recorded as: its JSON, or for a tombstone the facts of the deletion.
 * `resource` is the value `version.json` was serialised from, when the writer still holds it.
 */
export function versionLedgerEntry(version: StoredVersion, resource?: unknown): LedgerEntryInput {
  return {
    kind: 'resource-version',
    reference: versionReference(version),
    canonicalJson: versionCanonicalJson(version, resource),
  };
}

function versionCanonicalJson(version: StoredVersion, resource: unknown): string {
  if (version.json === undefined) {
    return canonicalJson(
      tombstoneContent(version.resourceType, version.id, version.versionId, version.lastUpdated),
    );
  }
  if (resource !== undefined) {
    // Canonical JSON of the value is that of its JSON parsed back whenever the value is JSON
    // data, which is when it does not throw (no undefined in an array, no Date, no NaN): the
    // parse is skipped on every write, and the rare other value still hashes as stored.
    try {
      return canonicalJson(resource);
    } catch (error) {
      if (!(error instanceof CanonicalJsonError)) throw error;
    }
  }
  return canonicalJson(JSON.parse(version.json));
}

export function ledgerRecorder(): VersionRecorder {
  return {
    name: 'ledger',
    // `written` is the store's CTE of the new resource row: a create that lost the race records nothing.
    record: ({ version, resource }) => [
      ledgerEntriesSql([versionLedgerEntry(version, resource)], { when: sql`exists (select from written)` }),
    ],
    // A batch of writes fails as a whole when any of its versions is not written (batched-writes.ts).
    recordMany: (recorded) => [
      ledgerEntriesSql(recorded.map(({ version, resource }) => versionLedgerEntry(version, resource))),
    ],
  };
}
