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
import { originAllowed } from '../http/cors.ts';
import type { Database } from '../store/database.ts';
import { negotiateBackendScopes } from './backend-scopes.ts';
import { CLIENT_ASSERTION_ALGS, type ClientRegistry, isLoopbackUrl, mayIntrospect } from './clients.ts';
import type { LaunchContexts } from './launch-context.ts';
import { oidcAdapterFactory } from './oidc-adapter.ts';
import { renderErrorPage } from './pages.ts';
import type { SecretBox } from './secret-box.ts';
import { TOKEN_SIGNING_ALG } from './signing-keys.ts';
import type { TokenRevocations } from './token-revocations.ts';
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
  revocations: TokenRevocations;
  /** `CONCORDIA_CORS_ORIGINS` (http/cors.ts): `['*']` any origin, `[]` none. */
  corsOrigins: readonly string[];
}

export function createAuthorizationServer(options: AuthorizationServerOptions): Provider {
  const { fhirBase, users, clients, launchContexts } = options;
  const absolute = (reference: string) => `${fhirBase}/${reference}`;

  const provider = new Provider(options.issuer, {
    adapter: oidcAdapterFactory(options.db, clients, options.revocations),
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
      // JWT access tokens are introspected by access-token-introspection.ts; oidc-provider answers
      // for refresh tokens, under the same rule of who may ask.
      introspection: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) =>
          mayIntrospect(await clients.byId(client.clientId), token.clientId),
      },
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
          const allowed = registered?.scopes ?? [];
          let granted: string[];
          if (ctx.oidc.params?.grant_type === 'client_credentials') {
            const requested = paramText(ctx.oidc.params.scope);
            const negotiated = negotiateBackendScopes(requested, allowed);
            if ('refused' in negotiated) throw new errors.InvalidScope(negotiated.refused, requested ?? '');
            granted = negotiated.granted;
            // oidc-provider issues the requested scopes this answer grants; a narrowed scope
            // (`system/*.rs` for `system/*.*`) was not requested, so the request is made to ask
            // for what is granted.
            ctx.oidc.params.scope = granted.join(' ');
          } else {
            granted = grantableScopes(requestedResourceScopes(ctx), allowed);
          }
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
    // A browser app may call the token, revocation and introspection endpoints from a configured
    // origin only when it is a public client whose registered redirect URI has that origin: a
    // confidential client's secret has no place in a page, and another site's page no business
    // with this client's tokens.
    clientBasedCORS(ctx, origin, client) {
      if (!originAllowed(options.corsOrigins, origin)) return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return (client.redirectUris ?? []).some((uri) => URL.canParse(uri) && new URL(uri).origin === origin);
    },
    // oidc-provider fetches client JWKS URLs only from globally routable addresses (its SSRF
    // guard). A JWKS URL is set by an administrator, never by a client (no dynamic registration),
    // and one that names the loopback interface itself (clients.ts) is fetched as registered:
    // a key service beside the server, or a test. A name that merely resolves there stays refused.
    fetch: (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      if (!isLoopbackUrl(url) || init === undefined) return globalThis.fetch(input, init);
      const { dispatcher: _guard, ...direct } = init as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(input, direct);
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
      const context = grantId === undefined ? undefined : await launchContexts.get(grantId);
      const patient = ownPatient ?? context?.patient;
      return {
        roles: user.roles,
        // The grant the token belongs to, so revoking the grant (a refresh token, a session)
        // refuses the token at once (token-revocations.ts). It names the grant; it grants nothing.
        ...(grantId !== undefined ? { grant_id: grantId } : {}),
        ...(user.fhirUser !== undefined ? { fhirUser: absolute(user.fhirUser) } : {}),
        ...(user.organization !== undefined ? { organization: user.organization } : {}),
        ...(patient !== undefined ? { patient } : {}),
        ...(context?.encounter !== undefined ? { encounter: context.encounter } : {}),
      };
    },
    extraParams: {
      // SMART EHR launch: the opaque `launch` value an EHR minted (ehr-launch.ts).
      async launch(ctx, value, client) {
        if (value === undefined) return;
        const scopes = String(ctx.oidc.params?.scope ?? '').split(' ');
        if (!scopes.includes('launch'))
          throw new errors.InvalidRequest('the launch parameter needs the launch scope');
        const launch = typeof value === 'string' ? await launchContexts.ehrLaunch(value) : undefined;
        if (launch === undefined) throw new errors.InvalidRequest('launch is unknown or has expired');
        if (launch.clientId !== undefined && launch.clientId !== client?.clientId)
          throw new errors.InvalidRequest('launch was minted for another client');
      },
    },
    // A launch that sets a context (an EHR launch, `launch/patient`, `launch/encounter`) always gets
    // a grant, and a consent, of its own: reusing the session's earlier grant would hand the app
    // that grant's patient instead of the one the EHR launched it for or the user is about to pick.
    async loadExistingGrant(ctx) {
      const consented = ctx.oidc.result?.consent?.grantId;
      const scopes = String(ctx.oidc.params?.scope ?? '').split(' ');
      const setsContext =
        ctx.oidc.params?.launch !== undefined ||
        scopes.includes('launch/patient') ||
        scopes.includes('launch/encounter');
      const clientId = ctx.oidc.client?.clientId;
      const grantId =
        consented ??
        (setsContext || clientId === undefined ? undefined : ctx.oidc.session?.grantIdFor(clientId));
      return grantId === undefined ? undefined : ctx.oidc.provider.Grant.find(grantId);
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
  provider.use(corsOriginsOnly(options.corsOrigins));
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

function paramText(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/**
 * SMART App Launch §token-response: the launch context (`patient`, `encounter`) travels beside the access
 * token. Our tokens carry it as a claim, so it is copied from the token we just issued.
 *
 * `scope` must name every scope granted (RFC 6749 §5.1; SMART requires it). oidc-provider names
 * only those of the access token, which is for the FHIR server and so carries resource scopes;
 * the identity and launch scopes granted with the code or refresh token (`openid`, `fhirUser`,
 * `launch/patient`, `offline_access` when a refresh token comes with it) are added in front.
 */
async function smartTokenResponse(ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> {
  await next();
  if (ctx.path !== OAUTH_ROUTES.token || ctx.status !== 200) return;
  const body: unknown = ctx.body;
  if (typeof body !== 'object' || body === null || !('access_token' in body)) return;
  const token = body.access_token;
  if (typeof token !== 'string' || token.split('.').length !== 3) return;
  const { patient, encounter } = decodeJwt(token);
  const exchanged = ctx.oidc.entities.AuthorizationCode?.scope ?? ctx.oidc.entities.RefreshToken?.scope ?? '';
  const identity = exchanged
    .split(' ')
    .filter((name) => IDENTITY_SCOPES.has(name) && (name !== 'offline_access' || 'refresh_token' in body));
  const resources = 'scope' in body && typeof body.scope === 'string' ? body.scope.split(' ') : [];
  const scope = [...new Set([...identity, ...resources])].filter((name) => name !== '').join(' ');
  ctx.body = {
    ...body,
    ...(scope !== '' ? { scope } : {}),
    ...(typeof patient === 'string' ? { patient } : {}),
    ...(typeof encounter === 'string' ? { encounter } : {}),
  };
}

/**
 * oidc-provider opens its public documents (discovery, JWKS) to every origin; here they follow
 * `CONCORDIA_CORS_ORIGINS` like the rest of the server, so `none` means none.
 */
function corsOriginsOnly(allowed: readonly string[]) {
  return async (ctx: KoaContextWithOIDC, next: () => Promise<void>): Promise<void> => {
    await next();
    const origin = ctx.get('Origin');
    if (origin === '' || originAllowed(allowed, origin)) return;
    for (const header of Object.keys(ctx.response.headers)) {
      if (header.toLowerCase().startsWith('access-control-')) ctx.remove(header);
    }
  };
}
