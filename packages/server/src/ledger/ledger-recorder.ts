/**
 * The ledger's `VersionRecorder` (store/port.ts): every resource version the store writes,
 * tombstones included, appends its ledger entry in the same statement as the version itself.
 * The content is the JSON exactly as stored (parsed back, then canonicalised), so `ledger verify`
 * can recompute the same hash from the `resource_history` row alone.
 */
import { canonicalJson, tombstoneContent } from '@concordia/fhir';
import type { StoredVersion, VersionRecorder } from '../store/port.ts';
import { sql } from '../store/sql.ts';
import { type LedgerEntryInput, ledgerEntriesSql } from './ledger-entries.ts';

export function versionReference(version: Pick<StoredVersion, 'resourceType' | 'id' | 'versionId'>): string {
  return `${version.resourceType}/${version.id}/_history/${version.versionId}`;
}

/** What a stored version is recorded as: its JSON, or for a tombstone the facts of the deletion. */
export function versionLedgerEntry(version: StoredVersion): LedgerEntryInput {
  const content: unknown =
    version.json === undefined
      ? tombstoneContent(version.resourceType, version.id, version.versionId, version.lastUpdated)
      : JSON.parse(version.json);
  return {
    kind: 'resource-version',
    reference: versionReference(version),
    canonicalJson: canonicalJson(content),
  };
}

export function ledgerRecorder(): VersionRecorder {
  return {
    name: 'ledger',
    // `written` is the store's CTE of the new resource row: a create that lost the race records nothing.
    record: ({ version }) => [
      ledgerEntriesSql([versionLedgerEntry(version)], { when: sql`exists (select from written)` }),
    ],
    // A batch of creates fails as a whole when any of its versions is not written (batched-creates.ts).
    recordMany: (recorded) => [ledgerEntriesSql(recorded.map(({ version }) => versionLedgerEntry(version)))],
  };
}
