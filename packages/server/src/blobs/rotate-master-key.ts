/**
 * Master key rotation without rewriting blob data: every data key wrapped by another master key
 * than the current one is unwrapped and wrapped again by the current one, in batches, each row
 * updated only if no one changed it meanwhile. The blob objects are not touched. Run it after
 * making a new master key current (master-key-files.ts `addMasterKey`, or a new
 * `CONCORDIA_MASTER_KEY` with the old one in `CONCORDIA_MASTER_KEY_PREVIOUS`); it can be
 * interrupted and run again. The old key stays configured until it reports zero rows left.
 */
import type { Database } from '../store/database.ts';
import { readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { KeyProvider } from './key-provider.ts';

export interface RotationReport {
  rewrapped: number;
  /** Master key ids that blobs still use after the rotation (only the current one when complete). */
  keyIdsInUse: string[];
}

export async function rewrapDataKeys(
  database: Database,
  keys: KeyProvider,
  options: { batchSize?: number; onProgress?: (rewrapped: number) => void } = {},
): Promise<RotationReport> {
  const batchSize = options.batchSize ?? 500;
  let rewrapped = 0;
  let after = '';
  for (;;) {
    const rows = await database.query(sql`select hash, key_id, wrapped_key from blob
      where key_id <> ${keys.currentKeyId} and hash > ${after} order by hash limit ${batchSize}`);
    if (rows.length === 0) break;
    for (const row of rows) {
      const hash = readString(row, 'hash');
      const keyId = readString(row, 'key_id');
      const wrappedKey = readString(row, 'wrapped_key');
      const dataKey = await keys.unwrap({ keyId, wrapped: Buffer.from(wrappedKey, 'base64') });
      const wrapped = await keys.wrap(dataKey);
      const updated = await database.query(sql`update blob
        set key_id = ${wrapped.keyId}, wrapped_key = ${Buffer.from(wrapped.wrapped).toString('base64')}
        where hash = ${hash} and key_id = ${keyId} and wrapped_key = ${wrappedKey} returning hash`);
      rewrapped += updated.length;
      after = hash;
    }
    options.onProgress?.(rewrapped);
  }
  const inUse = await database.query(sql`select distinct key_id from blob order by key_id`);
  return { rewrapped, keyIdsInUse: inUse.map((row) => readString(row, 'key_id')) };
}
