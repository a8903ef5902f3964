/**
 * SMART launch context (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
 * the patient (and encounter) an app works on, put into every token issued under a grant —
 * refreshed ones too — and returned beside the access token.
 *
 * Two kinds of record, kept as rows of `identity_oidc_model` beside oidc-provider's own artefacts
 * so they share its expiry and sweeping (oidc-adapter.ts):
 * - `EhrLaunch`: a launch an EHR minted (`POST /oauth2/launch`, ehr-launch.ts) — the opaque
 *   `launch` value it puts into the app's launch URL, bound to a patient and encounter, and
 *   optionally to one client and one user; it lives `EHR_LAUNCH_SECONDS`.
 * - `LaunchContext`: the context of a grant — the patient picked on the consent page, or the EHR
 *   launch's. It carries the grant id, so revoking the grant deletes it with the grant's tokens.
 */
import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from '../store/database.ts';
import { readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';

export interface LaunchContext {
  /** Patient id (no `Patient/` prefix), as SMART's token response carries it. */
  patient?: string;
  /** Encounter id (no `Encounter/` prefix). */
  encounter?: string;
}

export interface EhrLaunch extends LaunchContext {
  /** Only this client may use the launch; absent: any client the user authorizes. */
  clientId?: string;
  /** Only this user may use it (the clinician the EHR minted it for); absent: any user. */
  userId?: string;
  /** Who minted it: a user id or a client id, for the record. */
  mintedBy: string;
}

/** Long enough to sign in with a second factor, short enough that a leaked launch URL goes stale. */
export const EHR_LAUNCH_SECONDS = 600;

const EHR_LAUNCH = 'EhrLaunch';
const GRANT_CONTEXT = 'LaunchContext';

export class LaunchContexts {
  /** `grantSeconds`: how long a grant lives (the refresh-token lifetime, authorization-server.ts). */
  constructor(
    private readonly db: SqlExecutor,
    private readonly grantSeconds: number,
  ) {}

  async set(grantId: string, context: LaunchContext): Promise<void> {
    await this.put(GRANT_CONTEXT, grantId, context, this.grantSeconds, grantId);
  }

  async get(grantId: string): Promise<LaunchContext | undefined> {
    const payload = await this.find(GRANT_CONTEXT, grantId);
    return payload === undefined ? undefined : contextOf(payload);
  }

  /** Stores a new EHR launch; returns its `launch` value (256 random bits, base64url). */
  async mint(launch: EhrLaunch): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.put(EHR_LAUNCH, id, launch, EHR_LAUNCH_SECONDS);
    return id;
  }

  /** The EHR launch of a `launch` value, while it has not expired. */
  async ehrLaunch(id: string): Promise<EhrLaunch | undefined> {
    const payload = await this.find(EHR_LAUNCH, id);
    if (payload === undefined || typeof payload.mintedBy !== 'string') return undefined;
    return {
      ...contextOf(payload),
      mintedBy: payload.mintedBy,
      ...(typeof payload.clientId === 'string' ? { clientId: payload.clientId } : {}),
      ...(typeof payload.userId === 'string' ? { userId: payload.userId } : {}),
    };
  }

  private async put(
    model: string,
    id: string,
    payload: object,
    seconds: number,
    grantId: string | null = null,
  ): Promise<void> {
    const expiresAt = new Date(Date.now() + seconds * 1000).toISOString();
    await this.db.query(
      sql`insert into identity_oidc_model (model, id, payload, grant_id, expires_at)
          values (${model}, ${id}, ${JSON.stringify(payload)}, ${grantId}, ${expiresAt})
          on conflict (model, id) do update set payload = excluded.payload, grant_id = excluded.grant_id,
            expires_at = excluded.expires_at`,
    );
  }

  private async find(model: string, id: string): Promise<Record<string, unknown> | undefined> {
    const [row] = await this.db.query(
      sql`select payload from identity_oidc_model
          where model = ${model} and id = ${id} and (expires_at is null or expires_at > now())`,
    );
    if (row === undefined) return undefined;
    const payload: unknown = JSON.parse(readString(row, 'payload'));
    return typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : undefined;
  }
}

function contextOf(payload: Record<string, unknown>): LaunchContext {
  return {
    ...(typeof payload.patient === 'string' ? { patient: payload.patient } : {}),
    ...(typeof payload.encounter === 'string' ? { encounter: payload.encounter } : {}),
  };
}
