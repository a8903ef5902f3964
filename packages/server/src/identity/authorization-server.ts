/**
 * The OAuth 2.0 / OpenID Connect authorization server: `oidc-provider` (OpenID Certified,
 * DESIGN.md D5) configured for SMART on FHIR. It issues RFC 9068 JWT access tokens whose audience
 * is the FHIR base, so the FHIR door verifies them locally; everything stateful (grants, codes,
 * refresh tokens, sessions, replay detection) lives in our database through `oidc-adapter.ts`.
 *
 * Endpoints sit under `/oauth2` and discovery at the issuer (`/.well-known/openid-configuration`);
 * the issuer is `CONCORDIA_BASE_URL`.
 */
import { decodeJwt, type JWK } from 'jose';
import { errors, type KoaContextWithOIDC, Provider } from 'oidc-provider';
import { grantableScopes, IDENTITY_SCOPES } from '../access/smart-scopes.ts';
import type { Database } from '../store/database.ts';
import { CLIENT_ASSERTION_ALGS, type ClientRegistry } from './clients.ts';
import type { LaunchContexts } from './launch-context.ts';
import { oidcAdapterFactory } from './oidc-adapter.ts';
import { renderErrorPage } from './pages.ts';
import type { SecretBox } from './secret-box.ts';
import { TOKEN_SIGNING_ALG } from './signing-keys.ts';
import type { UserDirectory } from './users.ts';

export const OAUTH_PREFIX = '/oauth2';

export const OAUTH_ROUTES = {
  authorization: `${OAUTH_PREFIX}/authorize`,
  token: `${OAUTH_PREFIX}/token`,
  jwks: `${OAUTH_PREFIX}/jwks`,
  introspection: `${OAUTH_PREFIX}/introspect`,
  revocation: `${OAUTH_PREFIX}/revoke`,
  userinfo: `${OAUTH_PREFIX}/userinfo`,
  end_session: `${OAUTH_PREFIX}/logout`,
  pushed_authorization_request: `${OAUTH_PREFIX}/par`,
  code_verification: `${OAUTH_PREFIX}/device`,
  device_authorization: `${OAUTH_PREFIX}/device/auth`,
  backchannel_authentication: `${OAUTH_PREFIX}/backchannel`,
  registration: `${OAUTH_PREFIX}/register`,
  challenge: `${OAUTH_PREFIX}/challenge`,
} as const;

/** OpenID Connect and SMART scopes the authorization server itself understands. */
export const OIDC_SCOPES = [...IDENTITY_SCOPES];

export interface AuthorizationServerOptions {
  /** `CONCORDIA_BASE_URL`: the issuer. */
  issuer: string;
  fhirBase: string;
  accessTokenSeconds: number;
  refreshTokenSeconds: number;
  signingKeys: JWK[];
  db: Database;
  box: SecretBox;
  users: UserDirectory;
  clients: ClientRegistry;
  launchContexts: LaunchContexts;
}

export function createAuthorizationServer(options: AuthorizationServerOptions): Provider {
  const { fhirBase, users, clients, launchContexts } = options;
  const absolute = (reference: string) => `${fhirBase}/${reference}`;

  const provider = new Provider(options.issuer, {
    adapter: oidcAdapterFactory(options.db, clients),
    jwks: { keys: options.signingKeys },
    cookies: {
      keys: [options.box.derive('oidc-cookies').toString('base64url')],
      long: { signed: true, httpOnly: true, sameSite: 'lax' },
      short: { signed: true, httpOnly: true, sameSite: 'lax' },
    },
    routes: OAUTH_ROUTES,
    scopes: OIDC_SCOPES,
    claims: { openid: ['sub'], fhirUser: ['fhirUser'], profile: ['name', 'preferred_username'] },
    async findAccount(_ctx, sub) {
      const user = await users.byId(sub);
      if (user === undefined || user.disabled) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub,
          name: user.displayName,
          preferred_username: user.username,
          ...(user.fhirUser !== undefined ? { fhirUser: absolute(user.fhirUser) } : {}),
        }),
      };
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // SMART apps name the FHIR server with `aud`, not `resource`: every token is for it.
        defaultResource: () => fhirBase,
        useGrantedResource: () => true,
        async getResourceServerInfo(ctx, indicator, client) {
          if (indicator !== fhirBase) throw new errors.InvalidTarget(`The only resource is ${fhirBase}`);
          const registered = await clients.byId(client.clientId);
          const granted = grantableScopes(requestedResourceScopes(ctx), registered?.scopes ?? []);
          return {
            scope: granted.join(' '),
            audience: fhirBase,
            accessTokenTTL: options.accessTokenSeconds,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: TOKEN_SIGNING_ALG } },
          };
        },
      },
    },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none'],
    enabledJWA: {
      clientAuthSigningAlgValues: [...CLIENT_ASSERTION_ALGS],
      idTokenSigningAlgValues: [TOKEN_SIGNING_ALG],
    },
    // Every client uses PKCE (S256, the only method oidc-provider offers): RFC 9700 §2.1.1.
    pkce: { required: () => true },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client, code) =>
      client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    ttl: {
      AccessToken: options.accessTokenSeconds,
      ClientCredentials: options.accessTokenSeconds,
      AuthorizationCode: 60,
      IdToken: 3600,
      RefreshToken: options.refreshTokenSeconds,
      Interaction: 600,
      Session: 8 * 3600,
      Grant: options.refreshTokenSeconds,
    },
    async extraTokenClaims(_ctx, token) {
      if (token.kind === 'ClientCredentials') {
        const client = token.clientId === undefined ? undefined : await clients.byId(token.clientId);
        return {
          roles: ['system'],
          ...(client?.organization !== undefined ? { organization: client.organization } : {}),
        };
      }
      const accountId = 'accountId' in token ? token.accountId : undefined;
      const user = typeof accountId === 'string' ? await users.byId(accountId) : undefined;
      if (user === undefined) return undefined;
      const ownPatient = user.fhirUser?.startsWith('Patient/')
        ? user.fhirUser.slice('Patient/'.length)
        : undefined;
      const grantId = 'grantId' in token && typeof token.grantId === 'string' ? token.grantId : undefined;
      const chosen = grantId === undefined ? undefined : await launchContexts.patient(grantId);
      const patient = ownPatient ?? chosen;
      return {
        roles: user.roles,
        ...(user.fhirUser !== undefined ? { fhirUser: absolute(user.fhirUser) } : {}),
        ...(user.organization !== undefined ? { organization: user.organization } : {}),
        ...(patient !== undefined ? { patient } : {}),
      };
    },
    interactions: { url: (_ctx, interaction) => `${OAUTH_PREFIX}/interaction/${interaction.uid}` },
    renderError: async (ctx, out) => {
      ctx.type = 'html';
      ctx.body = renderErrorPage(out.error ?? 'error', out.error_description);
    },
  });
  // Forwarded headers are set by our own door from CONCORDIA_BASE_URL (oauth-door.ts), never
  // taken from the client.
  provider.proxy = true;
  provider.use(smartTokenResponse);
  return provider;
}

/**
 * Resource scopes asked for in this request: the `scope` parameter, or, when a code or refresh
 * token is exchanged, the scopes it was issued with.
 */
function requestedResourceScopes(ctx: KoaContextWithOIDC): string[] {
  const names = new Set<string>();
  const add = (scope: unknown) => {
    if (typeof scope !== 'string') return;
    for (const name of scope.split(' ')) if (name !== '' && !IDENTITY_SCOPES.has(name)) names.add(name);
  };
  add(ctx.oidc.params?.scope);
  add(ctx.oidc.entities.AuthorizationCode?.scope);
  add(ctx.oidc.entities.RefreshToken?.scope);
  return [...names];
}

/**
 * SMART App Launch §token-response: the launch context (`patient`) travels beside the access
 * token. Our tokens carry it as a claim, so it is copied from the token we just issued.
 */
async function smartTokenResponse(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  if (ctx.path !== OAUTH_ROUTES.token || ctx.status !== 200) return;
  const body: unknown = ctx.body;
  if (typeof body !== 'object' || body === null || !('access_token' in body)) return;
  const token = body.access_token;
  if (typeof token !== 'string' || token.split('.').length !== 3) return;
  const { patient } = decodeJwt(token);
  if (typeof patient === 'string') ctx.body = { ...body, patient };
}
