/**
 * HTTPS served by the server itself (`CONCORDIA_TLS_CERT`, `CONCORDIA_TLS_KEY`, `CONCORDIA_TLS_CA`),
 * for installations without a TLS-terminating proxy in front. Node's defaults apply otherwise:
 * TLS 1.2 at least, its cipher list, no client certificates.
 *
 * The files are read and checked once at start (a certificate that does not match its key stops
 * the server with a message naming the files), and again on `reload` (SIGHUP, main.ts): a renewed
 * certificate takes effect for new connections without a restart.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { FastifyServerFactory } from 'fastify';
import type { TlsConfig } from '../config.ts';

export class TlsFilesError extends Error {
  constructor(config: TlsConfig, reason: string) {
    const files = [config.certFile, config.keyFile, ...(config.caFile !== undefined ? [config.caFile] : [])];
    super(`TLS certificate and key (${files.join(', ')}) cannot be used: ${reason}`);
    this.name = 'TlsFilesError';
  }
}

/** The certificate chain, key and extra CA certificates, checked to form a usable context. */
export async function loadTlsCredentials(config: TlsConfig): Promise<SecureContextOptions> {
  let credentials: SecureContextOptions;
  try {
    const [cert, key, ca] = await Promise.all([
      readFile(config.certFile),
      readFile(config.keyFile),
      config.caFile === undefined ? undefined : readFile(config.caFile),
    ]);
    // `ca` completes the chain sent to clients when the certificate file holds the leaf alone.
    credentials = { cert, key, ...(ca !== undefined ? { ca } : {}) };
  } catch (error) {
    throw new TlsFilesError(config, error instanceof Error ? error.message : String(error));
  }
  try {
    // Fails on a key that does not belong to the certificate, or a file that is not PEM.
    createSecureContext(credentials);
  } catch (error) {
    throw new TlsFilesError(config, error instanceof Error ? error.message : String(error));
  }
  return credentials;
}

/** For Fastify's `serverFactory`: an HTTPS server with these credentials. */
export function httpsServerFactory(credentials: SecureContextOptions): FastifyServerFactory {
  return (handler) => createServer(credentials, handler);
}

/**
 * Reads the files again and hands the new certificate to `server` for the connections that follow;
 * those already open keep theirs. Throws `TlsFilesError` and keeps the old one when the files are
 * not usable.
 */
export async function reloadTlsCredentials(server: Server, config: TlsConfig): Promise<void> {
  server.setSecureContext(await loadTlsCredentials(config));
}
