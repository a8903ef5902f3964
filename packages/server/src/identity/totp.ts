/**
 * TOTP second factor (RFC 6238) with `otplib`: 6 digits, 30-second steps, one step of clock skew
 * either way, and every time step accepted at most once (RFC 6238 §5.2).
 */
import { generate, generateSecret, generateURI, verify } from 'otplib';

export const TOTP_ISSUER = 'Concordia';

export function newTotpSecret(): string {
  return generateSecret();
}

export function totpUri(secret: string, username: string): string {
  return generateURI({ issuer: TOTP_ISSUER, label: username, secret });
}

/** The current code (demo print-outs and tests). */
export function currentTotp(secret: string, epochSeconds?: number): Promise<string> {
  return generate({ secret, ...(epochSeconds !== undefined ? { epoch: epochSeconds } : {}) });
}

/**
 * The time step the code belongs to when it is valid and newer than `afterStep`, else
 * `undefined`.
 */
export async function acceptTotp(
  secret: string,
  code: string,
  afterStep?: number,
): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = await verify({
    secret,
    token: code,
    epochTolerance: 30,
    ...(afterStep !== undefined ? { afterTimeStep: afterStep } : {}),
  });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}
