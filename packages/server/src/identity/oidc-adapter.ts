/**
 * oidc-provider's storage adapter on Concordia's database (PGlite or PostgreSQL, same SQL): one
 * row per model instance in `identity_oidc_model`. Clients are not stored here: `Client` lookups
 * go to the client registry (clients.ts), which knows how to check a hashed secret.
 *
 * Expired rows are ignored on read and swept now and then on write, so nothing depends on a job.
 *
 * Revoking a grant also refuses the JWT access tokens issued under it, which are not stored here:
 * oidc-provider revokes a grant (a revoked refresh token, an ended session, a replayed code or
 * refresh token) by calling `revokeByGrantId` of every model, always including `AccessToken`
 * (helpers/revoke.js), and that call records the grant in the revocation list.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database } from '../store/database.ts';
import { readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { TokenRevocations } from './token-revocations.ts';

export interface ClientLookup {
  /** The client's metadata for oidc-provider, or `undefined` when it is not registered. */
  clientMetadata(clientId: string): Promise<AdapterPayload | undefined>;
}

/** Roughly one write in this many also deletes rows that expired more than an hour ago. */
const SWEEP_EVERY = 200;

export function oidcAdapterFactory(
  db: Database,
  clients: ClientLookup,
  revocations: TokenRevocations,
): (model: string) => Adapter {
  let writes = 0;
  const sweep = async (): Promise<void> => {
    writes += 1;
    if (writes % SWEEP_EVERY !== 0) return;
    await db.query(sql`delete from identity_oidc_model where expires_at < now() - interval '1 hour'`);
  };
  const revokeTokens = (grantId: string) => revocations.revoke('grant', grantId);
  return (model) => {
    if (model === 'Client') return new ClientAdapter(clients);
    return new ModelAdapter(db, model, sweep, model === 'AccessToken' ? revokeTokens : undefined);
  };
}

class ModelAdapter implements Adapter {
  constructor(
    private readonly db: Database,
    private readonly model: string,
    private readonly sweep: () => Promise<void>,
    /** Refuses the JWT access tokens of a revoked grant (the `AccessToken` model only). */
    private readonly revokeTokens?: (grantId: string) => Promise<void>,
  ) {}

  async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
    const expiresAt = expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000).toISOString() : null;
    await this.db.query(
      sql`insert into identity_oidc_model (model, id, payload, grant_id, uid, user_code, expires_at)
          values (${this.model}, ${id}, ${JSON.stringify(payload)}, ${payload.grantId ?? null},
                  ${payload.uid ?? null}, ${payload.userCode ?? null}, ${expiresAt})
          on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
            uid = excluded.uid, user_code = excluded.user_code, expires_at = excluded.expires_at`,
    );
    await this.sweep();
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.findWhere(sql`id = ${id}`);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.findWhere(sql`uid = ${uid}`);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.findWhere(sql`user_code = ${userCode}`);
  }

  private async findWhere(condition: ReturnType<typeof sql>): Promise<AdapterPayload | undefined> {
    const [row] = await this.db.query(
      sql`select payload, consumed_at from identity_oidc_model
          where model = ${this.model} and ${condition} and (expires_at is null or expires_at > now())
          limit 1`,
    );
    if (row === undefined) return undefined;
    const payload: AdapterPayload = JSON.parse(readString(row, 'payload'));
    const consumedAt = readOptionalString(row, 'consumed_at');
    return consumedAt === undefined
      ? payload
      : { ...payload, consumed: Math.floor(Date.parse(consumedAt) / 1000) };
  }

  async consume(id: string): Promise<void> {
    await this.db.query(
      sql`update identity_oidc_model set consumed_at = now() where model = ${this.model} and id = ${id}`,
    );
  }

  async destroy(id: string): Promise<void> {
    await this.db.query(sql`delete from identity_oidc_model where model = ${this.model} and id = ${id}`);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    // Every artefact of the grant, whatever its model: codes, refresh tokens, the grant itself.
    await this.db.query(sql`delete from identity_oidc_model where grant_id = ${grantId}`);
    await this.revokeTokens?.(grantId);
  }
}

class ClientAdapter implements Adapter {
  constructor(private readonly clients: ClientLookup) {}

  find(id: string): Promise<AdapterPayload | undefined> {
    return this.clients.clientMetadata(id);
  }

  async upsert(): Promise<void> {
    throw new Error('Clients are registered with `concordia clients add`, not through the provider');
  }

  async findByUid(): Promise<undefined> {
    return undefined;
  }

  async findByUserCode(): Promise<undefined> {
    return undefined;
  }

  async consume(): Promise<void> {}

  async destroy(): Promise<void> {}

  async revokeByGrantId(): Promise<void> {}
}
