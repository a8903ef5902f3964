/**
 * The FHIR door remembers the access tokens it has verified (access/bearer-token.ts): a remembered
 * token is served without checking its signature again, and never past its expiry.
 */
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { createBearerVerifier } from '../../src/access/bearer-token.ts';

const ISSUER = 'http://fhir.test/oauth2';
const AUDIENCE = 'http://fhir.test/fhir';

async function setUp() {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let clock = Date.now();
  const verify = await createBearerVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    algorithms: ['RS256'],
    loadKeys: async () => [jwk],
    now: () => clock,
  });
  const sign = (claims: Record<string, unknown>, expiresAt: number) =>
    new SignJWT({ client_id: 'app', scope: 'user/*.rs', roles: ['family-doctor'], ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime(expiresAt)
      .sign(privateKey);
  return { verify, sign, advance: (ms: number) => (clock += ms), now: () => clock };
}

describe('the bearer token verifier', () => {
  it('serves a token it verified again without a second verification, and refuses it once expired', async () => {
    const { verify, sign, advance, now } = await setUp();
    const expiresAt = Math.floor(Date.now() / 1000) + 300;
    const token = await sign({}, expiresAt);
    const first = await verify(token);
    expect(first.ok).toBe(true);
    const second = await verify(token);
    expect(second).toEqual(first);
    // The same principal object: nothing was verified or parsed again.
    expect(second.ok && first.ok && second.principal === first.principal).toBe(true);
    // Past the expiry and the 5 s of clock skew the verification allows.
    advance(expiresAt * 1000 - now() + 6000);
    expect(await verify(token)).toEqual({ ok: false, reason: 'The access token has expired' });
  });

  it('remembers nothing of a token that fails verification', async () => {
    const { verify, sign } = await setUp();
    const token = await sign({}, Math.floor(Date.now() / 1000) + 300);
    const tampered = `${token.slice(0, -4)}AAAA`;
    expect((await verify(tampered)).ok).toBe(false);
    expect((await verify(tampered)).ok).toBe(false);
    expect((await verify(token)).ok).toBe(true);
  });
});
