/**
 * Identity, assembled: the sealed-secret key, users, clients, the revocation list, signing keys,
 * the authorization server and the bearer-token authenticator the doors use. `main.ts` builds one per process;
 * `app.ts` mounts its door; the CLI uses only the directories.
 */
import type { Provider } from 'oidc-provider';
import { type Authenticator, bearerAuthenticator } from '../access/authenticate.ts';
import { createBearerVerifier } from '../access/bearer-token.ts';
import type { SignInAudit } from '../audit/sign-in-audit.ts';
import type { Config } from '../config.ts';
import type { Database } from '../store/database.ts';
import { introspectAccessTokens } from './access-token-introspection.ts';
import type { AdminAudit } from './admin-audit.ts';
import { createAuthorizationServer } from './authorization-server.ts';
import { ClientRegistry } from './clients.ts';
import { LaunchContexts } from './launch-context.ts';
import { LoginChallenges } from './login-challenges.ts';
import type { PatientDirectory } from './patient-picker.ts';
import { type IdentityKeySource, loadIdentityKey, type SecretBox } from './secret-box.ts';
import { activeSigningKeys, ensureSigningKey, publicJwk, TOKEN_SIGNING_ALG } from './signing-keys.ts';
import { auditedTokenRequests } from './token-audit.ts';
import { TokenRevocations } from './token-revocations.ts';
import { UserDirectory } from './users.ts';

export type IdentityConfig = Pick<
  Config,
  | 'baseUrl'
  | 'dataDir'
  | 'authMode'
  | 'identityKey'
  | 'accessTokenSeconds'
  | 'refreshTokenSeconds'
  | 'loginMaxFailures'
  | 'loginLockoutSeconds'
  | 'corsOrigins'
>;

export interface IdentityDirectories {
  box: SecretBox;
  keySource: IdentityKeySource;
  users: UserDirectory;
  clients: ClientRegistry;
  /** Revoked grants, users and clients, whose access tokens the doors refuse. */
  revocations: TokenRevocations;
}

export interface Identity extends IdentityDirectories {
  issuer: string;
  fhirBase: string;
  provider: Provider;
  launchContexts: LaunchContexts;
  challenges: LoginChallenges;
  patients: PatientDirectory;
  /** For the doors: bearer token → principal (access/authenticate.ts). */
  authenticate: Authenticator;
  /** Records sign-ins and client token requests (audit/sign-in-audit.ts); absent: not audited. */
  signIns?: SignInAudit;
  /** Records every call of the admin API (admin-audit.ts); absent: not audited. */
  adminAudit?: AdminAudit;
}

export async function openIdentityDirectories(
  config: IdentityConfig,
  db: Database,
): Promise<IdentityDirectories> {
  const { box, source } = await loadIdentityKey(config.identityKey, config.dataDir);
  const revocations = new TokenRevocations(db, { accessTokenSeconds: config.accessTokenSeconds });
  const users = new UserDirectory(
    db,
    box,
    { maxFailures: config.loginMaxFailures, lockoutSeconds: config.loginLockoutSeconds },
    revocations,
  );
  return { box, keySource: source, users, clients: new ClientRegistry(db, revocations), revocations };
}

export async function createIdentity(options: {
  config: IdentityConfig;
  db: Database;
  patients: PatientDirectory;
  signIns?: SignInAudit;
  adminAudit?: AdminAudit;
}): Promise<Identity> {
  const { config, db } = options;
  const directories = await openIdentityDirectories(config, db);
  const { box } = directories;
  const issuer = config.baseUrl;
  const fhirBase = `${config.baseUrl}/fhir`;
  const signingKeys = await ensureSigningKey(db, box);
  const launchContexts = new LaunchContexts(db, config.refreshTokenSeconds);
  const provider = createAuthorizationServer({
    issuer,
    fhirBase,
    accessTokenSeconds: config.accessTokenSeconds,
    refreshTokenSeconds: config.refreshTokenSeconds,
    signingKeys: signingKeys.map((key) => key.privateJwk),
    db,
    box,
    users: directories.users,
    clients: directories.clients,
    launchContexts,
    revocations: directories.revocations,
    corsOrigins: config.corsOrigins,
  });
  if (options.signIns !== undefined) provider.use(auditedTokenRequests(options.signIns, directories.users));
  const verifier = await createBearerVerifier({
    issuer,
    audience: fhirBase,
    algorithms: [TOKEN_SIGNING_ALG],
    loadKeys: async () => (await activeSigningKeys(db, box)).map((key) => publicJwk(key.privateJwk)),
    revocations: directories.revocations,
  });
  provider.use(introspectAccessTokens(verifier, directories.clients));
  return {
    ...directories,
    issuer,
    fhirBase,
    provider,
    launchContexts,
    challenges: new LoginChallenges(db, box),
    patients: options.patients,
    authenticate: bearerAuthenticator(config.authMode, verifier),
    ...(options.signIns !== undefined ? { signIns: options.signIns } : {}),
    ...(options.adminAudit !== undefined ? { adminAudit: options.adminAudit } : {}),
  };
}
