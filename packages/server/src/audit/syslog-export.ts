/**
 * A copy of every stored AuditEvent for the operator's SIEM or ATNA audit repository: syslog over
 * TLS (RFC 5425) with RFC 5424 messages, framed by octet counting (`MSG-LEN SP SYSLOG-MSG`,
 * RFC 5425 §4.3). Each message is facility 10 (security/authorization), severity 5 (notice) —
 * 4 (warning) for a failed event — and carries the AuditEvent JSON as its MSG.
 *
 * The database stays the record: an event is exported only after it is committed, and the export
 * never holds a request up. While the collector is unreachable messages wait in memory (at most
 * `maxQueued`, then the oldest are dropped with an error logged) and the connection is retried.
 */
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { AuditRecord } from './audit-event.ts';

export interface SyslogExportOptions {
  /** `tls://host:port` of the collector. */
  url: string;
  /** PEM file of the CA that signed the collector's certificate; default: the system's CAs. */
  caFile?: string;
  /** RFC 5424 HOSTNAME: this node's name. */
  hostname: string;
  logger: Logger;
  maxQueued?: number;
  retryDelayMs?: number;
}

export interface SyslogExport {
  send(records: readonly AuditRecord[]): void;
  /** Sends what is queued (while connected), then closes the connection. */
  close(): Promise<void>;
}

const APP_NAME = 'concordia';
const MSG_ID = 'AuditEvent';
const AUTHPRIV = 10;

/** One RFC 5424 message with its RFC 5425 octet-counting frame. */
export function syslogFrame(record: AuditRecord, hostname: string, processId: number): Buffer {
  const severity = record.outcome === '0' ? 5 : 4;
  const header = `<${AUTHPRIV * 8 + severity}>1 ${record.recorded} ${printable(hostname)} ${APP_NAME} ${processId} ${MSG_ID} -`;
  // RFC 5424 §6.4: a UTF-8 MSG starts with the byte order mark.
  const message = Buffer.concat([
    Buffer.from(`${header} `, 'utf8'),
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from(record.json, 'utf8'),
  ]);
  return Buffer.concat([Buffer.from(`${message.length} `, 'ascii'), message]);
}

/** RFC 5424 header fields are printable US-ASCII without spaces. */
function printable(value: string): string {
  const cleaned = value.replace(/[^\x21-\x7e]/g, '');
  return cleaned === '' ? '-' : cleaned.slice(0, 255);
}

export function syslogExport(options: SyslogExportOptions): SyslogExport {
  const match = /^tls:\/\/([^:/]+):(\d{1,5})$/.exec(options.url);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new Error(`Not a tls://host:port URL: ${options.url}`);
  const host = match[1];
  const port = Number(match[2]);
  const ca = options.caFile === undefined ? undefined : readFileSync(options.caFile);
  const maxQueued = options.maxQueued ?? 10_000;
  const retryDelayMs = options.retryDelayMs ?? 2000;
  const queue: Buffer[] = [];
  let socket: TLSSocket | undefined;
  let connected = false;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;

  const drain = (): void => {
    if (socket === undefined || !connected) return;
    while (queue.length > 0) {
      const frame = queue.shift();
      if (frame !== undefined) socket.write(frame);
    }
  };

  const open = (): void => {
    if (closed || socket !== undefined) return;
    const tls = connect({ host, port, servername: host, ...(ca !== undefined ? { ca } : {}) });
    socket = tls;
    tls.on('secureConnect', () => {
      connected = true;
      drain();
    });
    tls.on('error', (error) =>
      options.logger.warn(
        { err: error, collector: options.url },
        'the syslog audit collector is unreachable; retrying',
      ),
    );
    tls.on('close', () => {
      socket = undefined;
      connected = false;
      if (!closed && retry === undefined) {
        retry = setTimeout(() => {
          retry = undefined;
          open();
        }, retryDelayMs);
        retry.unref();
      }
    });
  };

  return {
    send(records) {
      for (const record of records) queue.push(syslogFrame(record, options.hostname, process.pid));
      if (queue.length > maxQueued) {
        const dropped = queue.splice(0, queue.length - maxQueued).length;
        options.logger.error(
          { dropped, collector: options.url },
          'syslog audit export queue full: oldest messages dropped (they remain in the database)',
        );
      }
      if (socket === undefined) open();
      else drain();
    },
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      const current = socket;
      if (current === undefined) return;
      drain();
      await new Promise<void>((resolve) => {
        current.end(() => resolve());
        current.once('close', () => resolve());
      });
    },
  };
}
