/**
 * Revocation that takes effect before an access token expires. Access tokens are JWTs the doors
 * verify without the database (access/bearer-token.ts), so revoking one means remembering, until it
 * would have expired anyway, that tokens of a grant, a user or a client issued up to a moment are no
 * longer honoured:
 *
 * - `grant`: a refresh token was revoked (RFC 7009), a session ended, a code or refresh token was
 *   replayed — whatever makes oidc-provider revoke a grant (oidc-adapter.ts);
 * - `user`: the account was disabled or signed out everywhere (users.ts);
 * - `client`: the client was disabled or removed, or its secret rotated (clients.ts).
 *
 * Every node holds the list in memory, so checking a token costs a few map lookups. A write goes
 * to the database (`identity_token_revocation`, migration 0016) and to the writing node's list at
 * once, and the same statement announces it (`pg_notify`, delivered on commit): every node that
 * `listen`s (store/change-notifications.ts) — other servers, and a server whose list a CLI command
 * changed — adds it to its list as the notification arrives. As the safety net for a notification
 * missed while a node reconnects (it then reads the table at its next request), every node also
 * reads the table again when its copy is older than `refreshMs`, and the request that finds it
 * stale waits for that one query. Nodes must agree on the time (NTP), as they already must for token expiry: a token is
 * refused when its `iat` is at or before the revocation's time in the database.
 */
import type { IssuedToken, RevocationCheck } from '../access/bearer-token.ts';
import { CHANGES_CHANNEL, type ChangeSubscription } from '../store/change-notifications.ts';
import type { SqlExecutor } from '../store/database.ts';
import { readNumber, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';

export type RevocationKind = 'grant' | 'user' | 'client';

export interface TokenRevocationOptions {
  /** Access tokens live at most this long: a revocation is kept this long, plus clock tolerance. */
  accessTokenSeconds: number;
  /** How old the in-memory list may get before it is read again; default 5 s. */
  refreshMs?: number;
  now?: () => number;
}

const DEFAULT_REFRESH_MS = 5_000;
/** Tokens are accepted this many seconds past `exp` (bearer-token.ts); revocations outlive that. */
const KEEP_EXTRA_SECONDS = 60;

export class TokenRevocations implements RevocationCheck {
  /** `kind:subject` → revocation time, seconds since the epoch. */
  #revokedAt = new Map<string, number>();
  #loadedAt = Number.NEGATIVE_INFINITY;
  #loading: Promise<void> | undefined;
  readonly #refreshMs: number;
  readonly #keepSeconds: number;
  readonly #now: () => number;

  constructor(
    private readonly db: SqlExecutor,
    options: TokenRevocationOptions,
  ) {
    this.#refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    this.#keepSeconds = options.accessTokenSeconds + KEEP_EXTRA_SECONDS;
    this.#now = options.now ?? Date.now;
  }

  /** Refuses the tokens of a grant, user or client issued up to now, on this node at once. */
  async revoke(kind: RevocationKind, subject: string): Promise<void> {
    const keepSeconds = this.#keepSeconds;
    // The payload is what change-notifications.ts `parseChange` reads as a revocation.
    const [row] = await this.db.query(
      sql`with stored as (
            insert into identity_token_revocation (kind, subject, revoked_at, expires_at)
            values (${kind}, ${subject}, now(), now() + make_interval(secs => ${keepSeconds}))
            on conflict (kind, subject) do update
              set revoked_at = excluded.revoked_at, expires_at = excluded.expires_at
            returning kind, subject, extract(epoch from revoked_at)::float8 as revoked_at)
          select s.revoked_at, pg_notify(${CHANGES_CHANNEL},
            json_build_object('revocation', json_build_array(s.kind, s.subject, s.revoked_at))::text)
          from stored s`,
    );
    if (row !== undefined) this.#revokedAt.set(key(kind, subject), readNumber(row, 'revoked_at'));
    await this.db.query(sql`delete from identity_token_revocation where expires_at < now()`);
  }

  /**
   * Keeps the list current from other nodes' revocations as they commit; after a lost connection
   * (`reset`) the list is read again at the next check.
   */
  listen(changes: ChangeSubscription): () => void {
    return changes.subscribe((change) => {
      if (change.kind === 'revocation') {
        const name = key(change.revocationKind, change.subject);
        const known = this.#revokedAt.get(name);
        if (known === undefined || known < change.revokedAt) this.#revokedAt.set(name, change.revokedAt);
      } else if (change.kind === 'reset') {
        this.#loadedAt = Number.NEGATIVE_INFINITY;
      }
    });
  }

  /** Fails closed: when the list is stale and cannot be read, the request fails (500), never passes. */
  async refusal(token: IssuedToken): Promise<string | undefined> {
    if (this.#now() - this.#loadedAt > this.#refreshMs) await this.refresh();
    const revokedBy = (kind: RevocationKind, subject: string | undefined) => {
      if (subject === undefined) return false;
      const revokedAt = this.#revokedAt.get(key(kind, subject));
      return revokedAt !== undefined && token.issuedAt <= revokedAt;
    };
    if (revokedBy('grant', token.grantId)) return 'The access token has been revoked';
    if (revokedBy('client', token.clientId))
      return 'The client of this access token was disabled or removed, or its secret rotated';
    if (revokedBy('user', token.subject)) return 'The user of this access token was disabled or signed out';
    return undefined;
  }

  /** Reads the list again; concurrent callers share one query. */
  refresh(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    const startedAt = this.#now();
    const rows = await this.db.query(
      sql`select kind, subject, extract(epoch from revoked_at)::float8 as revoked_at
          from identity_token_revocation where expires_at > now()`,
    );
    const loaded = new Map<string, number>();
    for (const row of rows) {
      loaded.set(`${readString(row, 'kind')}:${readString(row, 'subject')}`, readNumber(row, 'revoked_at'));
    }
    // A revocation this node wrote while the query ran is kept even if the query missed it.
    const oldestKept = startedAt / 1000 - this.#keepSeconds;
    for (const [name, revokedAt] of this.#revokedAt) {
      const read = loaded.get(name);
      if (revokedAt < oldestKept) continue;
      if (read === undefined || read < revokedAt) loaded.set(name, revokedAt);
    }
    this.#revokedAt = loaded;
    this.#loadedAt = startedAt;
  }
}

function key(kind: string, subject: string): string {
  return `${kind}:${subject}`;
}
