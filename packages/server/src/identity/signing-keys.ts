/**
 * The authorization server's token signing keys, kept in the database (sealed with the identity
 * key) so that every node signs with, and publishes, the same keys. Rotation adds a new key that
 * signs from the next start on; older keys stay in the JWKS, so tokens they signed verify until
 * they expire, and are retired later (`concordia keys retire`).
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Database, SqlExecutor } from '../store/database.ts';
import { readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { SecretBox } from './secret-box.ts';

/** RS256: the algorithm every SMART client and JOSE library verifies. */
export const TOKEN_SIGNING_ALG = 'RS256';

export interface SigningKey {
  kid: string;
  alg: string;
  /** Private JWK (with `kid`, `alg`, `use: sig`). */
  privateJwk: JWK;
  createdAt: string;
}

const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']);

export function publicJwk(jwk: JWK): JWK {
  return Object.fromEntries(Object.entries(jwk).filter(([name]) => !PRIVATE_MEMBERS.has(name)));
}

/** Active keys, newest first: the first one signs, all of them verify. */
export async function activeSigningKeys(db: SqlExecutor, box: SecretBox): Promise<SigningKey[]> {
  const rows = await db.query(
    sql`select kid, alg, private_jwk, created_at from identity_signing_key
        where retired_at is null order by created_at desc, kid`,
  );
  return rows.map((row) => {
    const kid = readString(row, 'kid');
    return {
      kid,
      alg: readString(row, 'alg'),
      privateJwk: parseJwk(openSealedKey(box, kid, readString(row, 'private_jwk'))),
      createdAt: readString(row, 'created_at'),
    };
  });
}

/** An unreadable key means the identity key changed: say so, rather than a bare crypto error. */
function openSealedKey(box: SecretBox, kid: string, sealed: string): string {
  try {
    return box.open(sealed);
  } catch (error) {
    throw new Error(
      `Signing key ${kid} in the database was sealed under another identity key. Start with the ` +
        'CONCORDIA_IDENTITY_KEY (or <data dir>/identity.key) it was created with; every node of one ' +
        'database must share that key (docs/configuration.md).',
      { cause: error },
    );
  }
}

function parseJwk(text: string): JWK {
  const value: unknown = JSON.parse(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('Bad JWK');
  return Object.fromEntries(Object.entries(value));
}

/** Creates the first key when there is none (first start). Returns the active keys. */
export async function ensureSigningKey(db: Database, box: SecretBox): Promise<SigningKey[]> {
  const keys = await activeSigningKeys(db, box);
  if (keys.length > 0) return keys;
  await db.transaction(async (tx) => {
    // Nodes starting together on an empty database: one creates the key, the others find it.
    await tx.query(sql`select pg_advisory_xact_lock(hashtextextended('concordia:signing-key', 0))`);
    const [existing] = await tx.query(
      sql`select 1 from identity_signing_key where retired_at is null limit 1`,
    );
    if (existing === undefined) await insertKey(tx, box);
  });
  return activeSigningKeys(db, box);
}

/** Adds a new signing key; it signs once the server restarts. Returns its kid. */
export async function rotateSigningKey(db: SqlExecutor, box: SecretBox): Promise<string> {
  return insertKey(db, box);
}

/** Stops publishing a key: tokens it signed no longer verify. The newest key cannot be retired. */
export async function retireSigningKey(db: SqlExecutor, kid: string): Promise<boolean> {
  const rows = await db.query(
    sql`update identity_signing_key set retired_at = now()
        where kid = ${kid} and retired_at is null
          and kid <> (select kid from identity_signing_key where retired_at is null
                      order by created_at desc, kid limit 1)
        returning kid`,
  );
  return rows.length > 0;
}

async function insertKey(db: SqlExecutor, box: SecretBox): Promise<string> {
  const { privateKey } = await generateKeyPair(TOKEN_SIGNING_ALG, { modulusLength: 2048, extractable: true });
  const kid = randomUUID();
  const jwk = { ...(await exportJWK(privateKey)), kid, alg: TOKEN_SIGNING_ALG, use: 'sig' };
  // clock_timestamp(): two keys made in one transaction still order by creation.
  await db.query(
    sql`insert into identity_signing_key (kid, alg, private_jwk, created_at)
        values (${kid}, ${TOKEN_SIGNING_ALG}, ${box.seal(JSON.stringify(jwk))}, clock_timestamp())`,
  );
  return kid;
}
