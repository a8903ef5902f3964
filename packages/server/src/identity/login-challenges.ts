/**
 * A sign-in between its two factors: the password was right, the one-time code (or the TOTP
 * enrolment) is pending. Kept in the database for ten minutes, keyed by the interaction id, so
 * any node can take the next step; an enrolment secret is sealed with the identity key.
 */
import type { SqlExecutor } from '../store/database.ts';
import { readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { SecretBox } from './secret-box.ts';

export interface LoginChallenge {
  accountId: string;
  /** The TOTP secret shown for enrolment, until the user proves they hold it. */
  enrolSecret?: string;
}

const MODEL = 'LoginChallenge';
const TTL_SECONDS = 600;

export class LoginChallenges {
  constructor(
    private readonly db: SqlExecutor,
    private readonly box: SecretBox,
  ) {}

  async save(uid: string, challenge: LoginChallenge): Promise<void> {
    const payload = JSON.stringify({
      accountId: challenge.accountId,
      ...(challenge.enrolSecret !== undefined ? { enrolSecret: this.box.seal(challenge.enrolSecret) } : {}),
    });
    await this.db.query(
      sql`insert into identity_oidc_model (model, id, payload, expires_at)
          values (${MODEL}, ${uid}, ${payload}, now() + make_interval(secs => ${TTL_SECONDS}))
          on conflict (model, id) do update set payload = excluded.payload, expires_at = excluded.expires_at`,
    );
  }

  async find(uid: string): Promise<LoginChallenge | undefined> {
    const [row] = await this.db.query(
      sql`select payload from identity_oidc_model where model = ${MODEL} and id = ${uid} and expires_at > now()`,
    );
    if (row === undefined) return undefined;
    const payload: unknown = JSON.parse(readString(row, 'payload'));
    if (typeof payload !== 'object' || payload === null || !('accountId' in payload)) return undefined;
    const accountId = String(payload.accountId);
    const sealed =
      'enrolSecret' in payload && typeof payload.enrolSecret === 'string' ? payload.enrolSecret : undefined;
    return { accountId, ...(sealed !== undefined ? { enrolSecret: this.box.open(sealed) } : {}) };
  }

  async delete(uid: string): Promise<void> {
    await this.db.query(sql`delete from identity_oidc_model where model = ${MODEL} and id = ${uid}`);
  }
}
