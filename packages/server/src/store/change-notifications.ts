/**
 * Change notifications between nodes over PostgreSQL `LISTEN`/`NOTIFY`: what one node keeps in
 * memory from the database (a principal's relationships, access/relationship-snapshot.ts; the token
 * revocation list, identity/token-revocations.ts) is dropped on every node as soon as a write that
 * changes it commits, instead of when the copy expires.
 *
 * The writer announces inside its own transaction (`announcement`, a `pg_notify` statement), so
 * PostgreSQL delivers the notification exactly when the transaction commits and never after a
 * rollback. Each node holds one dedicated connection that LISTENs (not a pooled one: a pooled
 * connection would stop listening when it is released). When that connection fails it reconnects
 * with backoff; notifications sent meanwhile are lost, so on reconnecting every subscriber drops
 * everything it keeps (`reset`). The expiry of the kept copies stays as the safety net for what no
 * notification reports: a write made while a node was reconnecting, a node that crashed between
 * COMMIT and delivery (PostgreSQL queues per listening session, not per node).
 *
 * PGlite is one process and one node: its writers drop their own copies directly, so there is
 * nothing to listen to (`createChangeNotifications` is not called for it).
 */
import { randomUUID } from 'node:crypto';
import { isRecord } from '@concordia/fhir';
import pg from 'pg';
import { type Sql, sql } from './sql.ts';

/** The one channel all nodes of a database share. */
export const CHANGES_CHANNEL = 'concordia_changes';

/** What a notification reports. */
export type Change =
  /** Committed writes of these resource types (another node's). */
  | { kind: 'resources'; resourceTypes: readonly string[] }
  /** A token revocation was stored (identity/token-revocations.ts): `revokedAt` in epoch seconds. */
  | { kind: 'revocation'; revocationKind: string; subject: string; revokedAt: number }
  /** Notifications may have been missed (the listening connection was lost): drop everything. */
  | { kind: 'reset' };

export type ChangeListener = (change: Change) => void;

/** Where a kept copy learns of changes: returns the function that stops listening. */
export interface ChangeSubscription {
  subscribe(listener: ChangeListener): () => void;
}

function notice(node: string, resourceTypes: Iterable<string>): ChangeNotice {
  return { channel: CHANGES_CHANNEL, payload: JSON.stringify({ node, resourceTypes: [...resourceTypes] }) };
}

export interface ChangeNotice {
  channel: string;
  payload: string;
}

export interface ChangeNotifications extends ChangeSubscription {
  /**
   * The notification of committed writes of `resourceTypes`: the writer's transaction sends it with
   * its COMMIT (database.ts `notifyOnCommit`), or runs `announcement` inside itself.
   */
  notice(resourceTypes: Iterable<string>): ChangeNotice;
  /** The same notification as a statement of the writer's transaction. */
  announcement(resourceTypes: Iterable<string>): Sql;
  close(): Promise<void>;
}

export interface ChangeNotificationOptions {
  connectionString: string;
  /** How the listening connection shows in `pg_stat_activity`; default `concordia-changes`. */
  applicationName?: string;
  /** A lost or failed listening connection (logged by the caller); it reconnects by itself. */
  onError?: (error: Error) => void;
  /** First wait before reconnecting, doubled per failure up to `maxBackoffMs`; defaults 100 ms, 10 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * Connects the listening connection (resolves once it LISTENs, so that no change committed after
 * start-up is missed) and keeps it connected until `close`.
 */
export async function createChangeNotifications(
  options: ChangeNotificationOptions,
): Promise<ChangeNotifications> {
  // A node's own announcements come back to its listener; its writers have already dropped what
  // they changed, so they are skipped.
  const node = randomUUID();
  const listeners = new Set<ChangeListener>();
  const minBackoffMs = options.minBackoffMs ?? 100;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  let client: pg.Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let failures = 0;

  const dispatch = (change: Change): void => {
    for (const listener of listeners) listener(change);
  };

  const connect = async (): Promise<void> => {
    const connection = new pg.Client({
      connectionString: options.connectionString,
      application_name: options.applicationName ?? 'concordia-changes',
    });
    connection.on('notification', (message) => {
      if (message.channel !== CHANGES_CHANNEL || message.payload === undefined) return;
      const change = parseChange(message.payload, node);
      if (change !== undefined) dispatch(change);
    });
    connection.on('error', (error) => lost(connection, error));
    connection.on('end', () => lost(connection, new Error('The change-notification connection ended')));
    try {
      await connection.connect();
      await connection.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch (error) {
      connection.removeAllListeners('end');
      await connection.end().catch(() => undefined);
      throw error;
    }
    client = connection;
  };

  const lost = (connection: pg.Client, error: Error): void => {
    if (closed || client !== connection) return;
    client = undefined;
    options.onError?.(error);
    connection.removeAllListeners('end');
    connection.end().catch(() => undefined);
    schedule();
  };

  const schedule = (): void => {
    if (closed || retry !== undefined) return;
    const wait = Math.min(maxBackoffMs, minBackoffMs * 2 ** Math.min(failures, 20));
    failures += 1;
    retry = setTimeout(() => {
      retry = undefined;
      connect().then(
        () => {
          failures = 0;
          // Whatever was announced while no connection listened is unknown: drop everything.
          dispatch({ kind: 'reset' });
        },
        (error: unknown) => {
          options.onError?.(error instanceof Error ? error : new Error(String(error)));
          schedule();
        },
      );
    }, wait);
    retry.unref();
  };

  await connect();

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    notice: (resourceTypes) => notice(node, resourceTypes),
    announcement(resourceTypes) {
      const { channel, payload } = notice(node, resourceTypes);
      return sql`select pg_notify(${channel}, ${payload})`;
    },
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      const connection = client;
      client = undefined;
      listeners.clear();
      if (connection !== undefined) {
        connection.removeAllListeners('end');
        await connection.end();
      }
    },
  };
}

/**
 * A notification's payload, as `announcement` and token-revocations.ts write it; `undefined` for
 * this node's own or one it cannot read (another version's: ignored, the expiry covers it).
 */
export function parseChange(payload: string, ownNode: string): Change | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { revocation } = value;
  if (Array.isArray(revocation)) {
    const [revocationKind, subject, revokedAt]: unknown[] = revocation;
    if (typeof revocationKind === 'string' && typeof subject === 'string' && typeof revokedAt === 'number')
      return { kind: 'revocation', revocationKind, subject, revokedAt };
    return undefined;
  }
  if (value.node === ownNode) return undefined;
  const { resourceTypes } = value;
  if (!Array.isArray(resourceTypes)) return undefined;
  return {
    kind: 'resources',
    resourceTypes: resourceTypes.filter((type): type is string => typeof type === 'string'),
  };
}
