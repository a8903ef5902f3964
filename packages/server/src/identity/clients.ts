/**
 * Client applications registered with the authorization server (RFC 7591 metadata): backend
 * services (client credentials, SMART Backend Services), confidential apps with a server side,
 * and public apps (browser, mobile: PKCE, no secret). Each is bounded by the scopes it may ever
 * be granted and optionally bound to the organisation it acts for.
 *
 * A client secret is 256 random bits shown once at registration (and at each rotation); only its
 * SHA-256 is stored. To let oidc-provider compare secrets, the registry hands it the secret the
 * caller presented when its digest matches, and a value that never matches when it does not.
 *
 * A disabled client is unknown to the authorization server (no token, no introspection), and the
 * tokens it already holds are refused at once (token-revocations.ts); so are they when it is
 * removed or its secret rotated — a rotated secret is usually a leaked one.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { decodeProtectedHeader } from 'jose';
import type { AdapterPayload } from 'oidc-provider';
import { Provider } from 'oidc-provider';
import { parseResourceScope } from '../access/smart-scopes.ts';
import type { Row, SqlExecutor } from '../store/database.ts';
import { readBoolean, readOptionalString, readString } from '../store/rows.ts';
import { sql } from '../store/sql.ts';
import type { ClientLookup } from './oidc-adapter.ts';
import type { TokenRevocations } from './token-revocations.ts';

export type ClientKind = 'backend' | 'confidential' | 'public';
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt' | 'none';

export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = [
  'client_secret_basic',
  'client_secret_post',
  'private_key_jwt',
  'none',
];

/** SMART Backend Services: RS384 and ES384 must be accepted; the others are common. */
export const CLIENT_ASSERTION_ALGS = ['RS384', 'ES384', 'RS256', 'ES256', 'PS256', 'PS384'] as const;

export interface NewClient {
  name: string;
  kind: ClientKind;
  /** Default: `private_key_jwt` for a backend with keys, `client_secret_basic` otherwise, `none` for public. */
  authMethod?: ClientAuthMethod;
  /** Scopes the client may ever be granted (`system/*.rs`, `patient/*.rs`, `openid`, …). */
  scopes: string[];
  redirectUris?: string[];
  /** Public keys for `private_key_jwt`: a JWK Set, or where to fetch it. */
  jwks?: { keys: Record<string, unknown>[] };
  jwksUri?: string;
  organization?: string;
  /** Default: a random id. */
  clientId?: string;
}

export interface RegisteredClient {
  clientId: string;
  name: string;
  kind: ClientKind;
  authMethod: ClientAuthMethod;
  scopes: string[];
  redirectUris: string[];
  organization?: string;
  disabled: boolean;
  createdAt: string;
}

export class ClientError extends Error {
  override name = 'ClientError';
}

export class ClientRegistry implements ClientLookup {
  /** Stands in for the secret when the presented one is wrong; unknown outside this process. */
  readonly #mismatch = `mismatch-${randomBytes(32).toString('base64url')}`;

  constructor(
    private readonly db: SqlExecutor,
    private readonly revocations: TokenRevocations,
  ) {}

  /** Registers a client; the secret (confidential clients) is returned here and never again. */
  async add(input: NewClient): Promise<{ client: RegisteredClient; clientSecret?: string }> {
    const authMethod = input.authMethod ?? defaultAuthMethod(input);
    const problems = clientProblems(input, authMethod);
    if (problems.length > 0) throw new ClientError(problems.join('; '));
    const clientId = input.clientId ?? randomBytes(16).toString('base64url');
    const usesSecret = authMethod === 'client_secret_basic' || authMethod === 'client_secret_post';
    const clientSecret = usesSecret ? randomBytes(32).toString('base64url') : undefined;
    const metadata = oidcMetadata(clientId, input, authMethod);
    const rows = await this.db.query(
      sql`insert into identity_client (client_id, name, kind, metadata, secret_sha256, allowed_scopes, organization)
          values (${clientId}, ${input.name}, ${input.kind}, ${JSON.stringify(metadata)},
            ${clientSecret === undefined ? null : sha256(clientSecret)}, ${input.scopes.join(' ')},
            ${input.organization ?? null})
          on conflict (client_id) do nothing
          returning *`,
    );
    const [row] = rows;
    if (row === undefined) throw new ClientError(`A client with id "${clientId}" already exists`);
    return { client: toClient(row), ...(clientSecret !== undefined ? { clientSecret } : {}) };
  }

  async list(): Promise<RegisteredClient[]> {
    return (await this.db.query(sql`select * from identity_client order by name, client_id`)).map(toClient);
  }

  async byId(clientId: string): Promise<RegisteredClient | undefined> {
    const [row] = await this.db.query(sql`select * from identity_client where client_id = ${clientId}`);
    return row === undefined ? undefined : toClient(row);
  }

  async remove(clientId: string): Promise<boolean> {
    const rows = await this.db.query(
      sql`delete from identity_client where client_id = ${clientId} returning client_id`,
    );
    if (rows.length === 0) return false;
    await this.#endTokens(clientId);
    return true;
  }

  /** Disables (or enables again) a client; disabling ends its grants and refuses its tokens. */
  async setDisabled(clientId: string, disabled: boolean): Promise<boolean> {
    const rows = await this.db.query(
      sql`update identity_client set disabled = ${disabled} where client_id = ${clientId} returning client_id`,
    );
    if (rows.length === 0) return false;
    if (disabled) await this.#endTokens(clientId);
    return true;
  }

  /**
   * Gives a client that authenticates with a secret a new one, returned here and never again; the
   * old one stops working, and so do the tokens and refresh tokens obtained with it.
   */
  async rotateSecret(clientId: string): Promise<string> {
    const clientSecret = randomBytes(32).toString('base64url');
    const rows = await this.db.query(
      sql`update identity_client set secret_sha256 = ${sha256(clientSecret)}
          where client_id = ${clientId} and secret_sha256 is not null returning client_id`,
    );
    if (rows.length === 0) {
      const client = await this.byId(clientId);
      throw new ClientError(
        client === undefined
          ? `No client "${clientId}"`
          : `Client "${clientId}" authenticates with ${client.authMethod}, not with a secret`,
      );
    }
    await this.#endTokens(clientId);
    return clientSecret;
  }

  /** Its grants, codes and refresh tokens are deleted; its access tokens refused from now on. */
  async #endTokens(clientId: string): Promise<void> {
    await this.db.query(
      sql`delete from identity_oidc_model where model <> 'Session' and payload::jsonb ->> 'clientId' = ${clientId}`,
    );
    await this.revocations.revoke('client', clientId);
  }

  async clientMetadata(clientId: string): Promise<AdapterPayload | undefined> {
    const [row] = await this.db.query(
      sql`select metadata, secret_sha256 from identity_client where client_id = ${clientId} and not disabled`,
    );
    if (row === undefined) return undefined;
    const metadata: AdapterPayload = JSON.parse(readString(row, 'metadata'));
    const jku = presentedAssertionJku();
    if (jku !== undefined && jku !== metadata.jwks_uri) {
      // SMART Backend Services §signature-verification: a `jku` other than the JWKS URL of the
      // registration fails verification. Offering no key makes oidc-provider refuse the
      // assertion as it refuses any it cannot verify (invalid_client), and never fetches `jku`.
      const { jwks_uri: _unused, ...rest } = metadata;
      return { ...rest, jwks: { keys: [] } };
    }
    const digest = readOptionalString(row, 'secret_sha256');
    if (digest === undefined) return metadata;
    const presented = presentedSecret();
    const matches = presented !== undefined && digestsEqual(sha256(presented), digest);
    return { ...metadata, client_secret: matches ? presented : this.#mismatch };
  }
}

/**
 * RFC 7662 §4: who may learn what a token says. A client may introspect its own tokens; a backend
 * client (a resource server, such as a hospital system checking the tokens it receives) any token;
 * a public client, which cannot authenticate (§2.1), none.
 */
export function mayIntrospect(
  asking: RegisteredClient | undefined,
  tokenClientId: string | undefined,
): boolean {
  if (asking === undefined || asking.disabled || asking.authMethod === 'none') return false;
  return asking.kind === 'backend' || asking.clientId === tokenClientId;
}

function defaultAuthMethod(input: NewClient): ClientAuthMethod {
  if (input.kind === 'public') return 'none';
  return input.jwks !== undefined || input.jwksUri !== undefined ? 'private_key_jwt' : 'client_secret_basic';
}

export function clientProblems(input: NewClient, authMethod: ClientAuthMethod): string[] {
  const problems: string[] = [];
  if (input.name.trim() === '') problems.push('a client needs a name');
  if (input.clientId !== undefined && !/^[A-Za-z0-9._~-]{3,128}$/.test(input.clientId)) {
    problems.push('a client id is 3–128 characters: letters, digits, . _ ~ -');
  }
  if (input.kind === 'public' && authMethod !== 'none') problems.push('a public client cannot authenticate');
  if (input.kind !== 'public' && authMethod === 'none')
    problems.push(`a ${input.kind} client must authenticate`);
  if (authMethod === 'private_key_jwt' && input.jwks === undefined && input.jwksUri === undefined) {
    problems.push('private_key_jwt needs the client public keys (--jwks or --jwks-uri)');
  }
  if (input.jwks !== undefined && input.jwksUri !== undefined) {
    problems.push('give the client public keys either inline (--jwks) or by URL (--jwks-uri), not both');
  }
  if (input.jwksUri !== undefined && !jwksUrlAllowed(input.jwksUri)) {
    problems.push(
      `the JWKS URL must be https (http only on this machine, for development): ${input.jwksUri}`,
    );
  }
  if (input.kind !== 'backend' && (input.redirectUris ?? []).length === 0) {
    problems.push('an app that signs users in needs at least one redirect URI');
  }
  for (const uri of input.redirectUris ?? []) {
    if (!URL.canParse(uri) || uri.includes('#')) problems.push(`not a valid redirect URI: ${uri}`);
  }
  if (input.scopes.length === 0) problems.push('a client needs the scopes it may be granted (--scope)');
  for (const scope of input.scopes) {
    if (/^(patient|user|system)\//.test(scope) && parseResourceScope(scope) === undefined) {
      problems.push(`not a SMART scope: ${scope}`);
    }
    if (input.kind === 'backend' && /^(patient|user)\//.test(scope)) {
      problems.push(`a backend client acts for no user or patient, so it gets system/ scopes only: ${scope}`);
    }
    if (input.kind !== 'backend' && scope.startsWith('system/')) {
      problems.push(`system/ scopes are for backend clients: ${scope}`);
    }
  }
  return problems;
}

/**
 * The keys a client signs with are trusted only as far as the channel they come over: HTTPS, or
 * plain HTTP to the loopback interface (a development machine, the test suite).
 */
function jwksUrlAllowed(uri: string): boolean {
  if (!URL.canParse(uri)) return false;
  const url = new URL(uri);
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url));
}

/** A URL naming this machine by its loopback address or `localhost`, not by a name DNS resolves. */
export function isLoopbackUrl(url: URL): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

function oidcMetadata(clientId: string, input: NewClient, authMethod: ClientAuthMethod): AdapterPayload {
  const backend = input.kind === 'backend';
  return {
    client_id: clientId,
    client_name: input.name,
    grant_types: backend ? ['client_credentials'] : ['authorization_code', 'refresh_token'],
    response_types: backend ? [] : ['code'],
    redirect_uris: input.redirectUris ?? [],
    token_endpoint_auth_method: authMethod,
    ...(input.kind === 'public' ? { application_type: 'web' } : {}),
    ...(input.jwks !== undefined ? { jwks: input.jwks } : {}),
    ...(input.jwksUri !== undefined ? { jwks_uri: input.jwksUri } : {}),
  };
}

function toClient(row: Row): RegisteredClient {
  const metadata: AdapterPayload = JSON.parse(readString(row, 'metadata'));
  const organization = readOptionalString(row, 'organization');
  const kind = readString(row, 'kind');
  const method = CLIENT_AUTH_METHODS.find((candidate) => candidate === metadata.token_endpoint_auth_method);
  return {
    clientId: readString(row, 'client_id'),
    name: readString(row, 'name'),
    kind: kind === 'backend' || kind === 'public' ? kind : 'confidential',
    authMethod: method ?? 'client_secret_basic',
    scopes: readString(row, 'allowed_scopes')
      .split(' ')
      .filter((scope) => scope !== ''),
    redirectUris: [...(metadata.redirect_uris ?? [])],
    ...(organization !== undefined ? { organization } : {}),
    disabled: readBoolean(row, 'disabled'),
    createdAt: readString(row, 'created_at'),
  };
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function digestsEqual(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The `jku` header of the client assertion presented with the request oidc-provider is handling. */
function presentedAssertionJku(): string | undefined {
  const assertion = Provider.ctx?.oidc?.params?.client_assertion;
  if (typeof assertion !== 'string') return undefined;
  try {
    const { jku } = decodeProtectedHeader(assertion);
    return typeof jku === 'string' ? jku : undefined;
  } catch {
    // Not a JWT: oidc-provider refuses it itself.
    return undefined;
  }
}

/**
 * The secret presented with the request oidc-provider is handling (its async-local context):
 * `client_secret` in the body, or the password of HTTP Basic (RFC 6749 §2.3.1, form-encoded).
 */
function presentedSecret(): string | undefined {
  const ctx = Provider.ctx;
  if (ctx === undefined) return undefined;
  const fromBody = ctx.oidc?.params?.client_secret;
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  const authorization = ctx.headers.authorization;
  if (typeof authorization !== 'string' || !/^basic /i.test(authorization)) return undefined;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return undefined;
  try {
    return decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}
