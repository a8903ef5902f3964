/**
 * What the real-browser tests need besides the server: the Chromium to drive, a free TCP port,
 * a tiny static web server for the "app" origin, and an independent RFC 6238 implementation (the
 * test computes one-time codes itself rather than trusting the server's own TOTP module).
 */
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The Chromium executable (`CONCORDIA_CHROMIUM`, else Debian's `/usr/bin/chromium`), or
 * `undefined` when there is none — then the browser suites skip, except under
 * `CONCORDIA_REQUIRE_ALL=1` (CI), where a missing browser is a failure, not a skip.
 */
export function chromiumExecutable(
  env: Record<string, string | undefined> = process.env,
): string | undefined {
  const path = env.CONCORDIA_CHROMIUM?.trim() || '/usr/bin/chromium';
  if (existsSync(path)) return path;
  if (env.CONCORDIA_REQUIRE_ALL === '1') {
    throw new Error(
      `CONCORDIA_REQUIRE_ALL=1 but no Chromium at ${path}: install it (apt-get install chromium) or set CONCORDIA_CHROMIUM`,
    );
  }
  return undefined;
}

/** A port nothing listens on right now (the OS picks it; it is free again once we close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface StaticSite {
  origin: string;
  close(): Promise<void>;
}

/**
 * Serves `pages` (path → HTML) and `files` (path → file on disk, served as JavaScript) on
 * `http://localhost:<port>`: another origin — and another site — than the server on 127.0.0.1.
 */
export async function serveStatic(
  pages: Record<string, string>,
  files: Record<string, string>,
  port = 0,
): Promise<StaticSite> {
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const page = pages[path];
    const file = files[path];
    if (page !== undefined) {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      response.end(page);
    } else if (file !== undefined) {
      readFile(file).then(
        (content) => {
          response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
          response.end(content);
        },
        () => {
          response.writeHead(500);
          response.end();
        },
      );
    } else {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('not found');
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${address.port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text: string): Buffer {
  const bytes: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of text.replace(/=+$/, '').toUpperCase()) {
    const index = BASE32.indexOf(char);
    if (index < 0) throw new Error(`not base32: ${char}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

/** RFC 6238 TOTP (HMAC-SHA-1, 30-second steps, 6 digits) for a base32 key, at `epochSeconds`. */
export function totp(base32Key: string, epochSeconds = Date.now() / 1000): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(epochSeconds / 30)));
  const mac = createHmac('sha1', base32Decode(base32Key)).update(counter).digest();
  // RFC 4226 §5.3 dynamic truncation.
  const offset = (mac[mac.length - 1] ?? 0) & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}
