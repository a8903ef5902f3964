/**
 * Which Practitioner signs with which certificate (table `signing_certificate`, migration 0012).
 *
 * Signatures are verified inside the write's transaction, where PGlite cannot run a second query
 * on the database (store/database.ts), so lookups are answered from a copy in memory. The copy is
 * exact for changes made through this process and is reloaded in the background when it is older
 * than `maxAgeMs`, which is how a registration or revocation made on another node (or by the CLI
 * against PostgreSQL) arrives: within seconds. The CA's CRL, not this table, is what revokes a
 * certificate; revoking a registration only stops the server accepting it for that Practitioner.
 */
import type { Database } from '../store/database.ts';
import { readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';

export interface RegisteredCertificate {
  /** Base64url SHA-256 of the DER certificate: the JWS `kid` (and `x5t#S256`). */
  thumbprint: string;
  practitionerId: string;
  certificatePem: string;
  /** The intermediates sent with it (PEM bundle, may be empty). */
  chainPem: string;
  subject: string;
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  registeredAt: string;
  revokedAt?: string;
}

export type NewRegistration = Omit<RegisteredCertificate, 'registeredAt' | 'revokedAt'>;

export interface CertificateRegistry {
  /** The registration of a certificate, revoked or not, from the copy in memory. */
  find(thumbprint: string): RegisteredCertificate | undefined;
  /** Stores a registration; `false` when the certificate is already registered. */
  insert(registration: NewRegistration): Promise<boolean>;
  /** Every registration (of one Practitioner), newest first, read from the database. */
  list(practitionerId?: string): Promise<RegisteredCertificate[]>;
  /** Marks a registration revoked; `false` when there is none (or it already was). */
  revoke(thumbprint: string): Promise<boolean>;
  /** Reloads the copy in memory. */
  refresh(): Promise<void>;
}

export interface RegistryOptions {
  maxAgeMs?: number;
  /** Told when a background reload fails; the previous copy stays in use. */
  onRefreshError?: (error: unknown) => void;
}

export async function createCertificateRegistry(
  database: Database,
  options: RegistryOptions = {},
): Promise<CertificateRegistry> {
  const maxAgeMs = options.maxAgeMs ?? 5000;
  let byThumbprint = new Map<string, RegisteredCertificate>();
  let loadedAt = 0;
  let reloading: Promise<void> | undefined;

  const refresh = async (): Promise<void> => {
    const started = Date.now();
    const rows = await database.query(sql`select * from signing_certificate`);
    byThumbprint = new Map(rows.map((row) => [readString(row, 'thumbprint'), registrationOf(row)]));
    loadedAt = started;
  };
  await refresh();

  return {
    find(thumbprint) {
      if (Date.now() - loadedAt > maxAgeMs && reloading === undefined) {
        // Not awaited: inside a PGlite transaction it runs once the transaction has ended.
        reloading = refresh()
          .catch((error: unknown) => options.onRefreshError?.(error))
          .finally(() => {
            reloading = undefined;
          });
      }
      return byThumbprint.get(thumbprint);
    },
    async insert(registration) {
      const rows = await database.query(sql`insert into signing_certificate
          (thumbprint, practitioner_id, certificate_pem, chain_pem, subject, serial_number, not_before, not_after)
        values (${registration.thumbprint}, ${registration.practitionerId}, ${registration.certificatePem},
          ${registration.chainPem}, ${registration.subject}, ${registration.serialNumber},
          ${registration.notBefore}, ${registration.notAfter})
        on conflict (thumbprint) do nothing
        returning thumbprint`);
      await refresh();
      return rows.length === 1;
    },
    async list(practitionerId) {
      const filter = practitionerId === undefined ? sql`true` : sql`practitioner_id = ${practitionerId}`;
      const rows = await database.query(
        sql`select * from signing_certificate where ${filter} order by registered_at desc, thumbprint`,
      );
      return rows.map(registrationOf);
    },
    async revoke(thumbprint) {
      const rows = await database.query(sql`update signing_certificate set revoked_at = now()
        where thumbprint = ${thumbprint} and revoked_at is null returning thumbprint`);
      await refresh();
      return rows.length === 1;
    },
    refresh,
  };
}

function registrationOf(row: Record<string, unknown>): RegisteredCertificate {
  const revokedAt = readOptionalString(row, 'revoked_at');
  return {
    thumbprint: readString(row, 'thumbprint'),
    practitionerId: readString(row, 'practitioner_id'),
    certificatePem: readString(row, 'certificate_pem'),
    chainPem: readString(row, 'chain_pem'),
    subject: readString(row, 'subject'),
    serialNumber: readString(row, 'serial_number'),
    notBefore: readString(row, 'not_before'),
    notAfter: readString(row, 'not_after'),
    registeredAt: readString(row, 'registered_at'),
    ...(revokedAt !== undefined ? { revokedAt } : {}),
  };
}
