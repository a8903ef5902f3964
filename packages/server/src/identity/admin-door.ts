/**
 * The admin API: JSON over HTTP(S) under `/admin`, an encapsulated Fastify plugin (DESIGN.md D2),
 * for the people and applications that may get tokens. It does what `concordia users …` and
 * `concordia clients …` do (identity-cli.ts), through the same directories (users.ts, clients.ts),
 * so both refuse the same mistakes with the same words:
 *
 *   GET  /admin/users                          POST /admin/users
 *   POST /admin/users/{username}/disable       /enable  /reset-mfa  /sign-out
 *   GET  /admin/clients                        POST /admin/clients
 *   POST /admin/clients/{client_id}/disable    /enable  /rotate-secret
 *
 * Only an administrator's token (role `administrator`) or the demo administration client's may
 * call it (docs/security.md "Admin API"); every call, allowed or refused, is audited before it is
 * answered (admin-audit.ts). Errors are RFC 6749-style JSON (`error`, `error_description`), with
 * the RFC 6750 challenge on a 401.
 */
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { type Authenticator, bearerChallenge } from '../access/authenticate.ts';
import type { Principal } from '../access/request-context.ts';
import type { AuditContext } from '../audit/audit-event.ts';
import type { AuditAction } from '../audit/balp-codes.ts';
import type { AdminAudit } from './admin-audit.ts';
import { AdminInputError, clientView, newClient, newUser, userView } from './admin-requests.ts';
import { ClientError, type ClientRegistry } from './clients.ts';
import { DEMO_ADMIN_CLIENT_ID } from './demo-identity.ts';
import { type UserDirectory, UserError } from './users.ts';

export const ADMIN_PREFIX = '/admin';

export interface AdminDoorOptions {
  users: UserDirectory;
  clients: ClientRegistry;
  authenticate: Authenticator;
  adminAudit?: AdminAudit;
  issuer: string;
}

/** What an admin call answers, and what its audit event says it did. */
interface Outcome {
  status: number;
  body?: unknown;
  description: string;
}

type Area = 'users' | 'clients';

class AdminRefusal extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

export async function adminDoor(app: FastifyInstance, options: AdminDoorOptions): Promise<void> {
  const { users, clients, authenticate } = options;
  const realm = options.issuer;

  // Bodies are read as text and parsed by the route (admin-requests.ts): a malformed body is then
  // a 400 of the route, audited like every other call, rather than a parser error before it.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode !== undefined && error.statusCode < 500 ? error.statusCode : 500;
    reply.code(status).send({
      error: status < 500 ? 'invalid_request' : 'server_error',
      error_description: status < 500 ? error.message : 'The server failed; the failure is logged',
    });
  });

  const route = (
    method: 'GET' | 'POST',
    url: string,
    area: Area,
    operation: string,
    action: AuditAction,
    run: (request: FastifyRequest) => Promise<Outcome>,
  ) =>
    app.route({
      method,
      url,
      handler: async (request, reply) => {
        const authentication = await authenticate(headerText(request.headers.authorization));
        const principal: Principal = authentication.ok ? authentication.principal : { kind: 'anonymous' };
        const ctx = auditContext(request, principal, authentication.ok ? authentication.clientId : undefined);
        let outcome: Outcome;
        try {
          if (!authentication.ok) {
            reply.header('www-authenticate', bearerChallenge(realm, authentication));
            throw new AdminRefusal(401, authentication.error, authentication.description);
          }
          const refusal = adminRefusal(principal);
          if (refusal !== undefined) {
            if (refusal.status === 401) reply.header('www-authenticate', bearerChallenge(realm));
            throw refusal;
          }
          outcome = await run(request);
        } catch (error) {
          outcome = failure(error);
        }
        await options.adminAudit?.record({
          ctx,
          area,
          operation,
          action,
          status: outcome.status,
          description: outcome.description,
        });
        return reply.code(outcome.status).header('cache-control', 'no-store').send(outcome.body);
      },
    });

  route('GET', '/users', 'users', 'user-list', 'R', async () => {
    const list = await users.list();
    return { status: 200, body: { users: list.map(userView) }, description: `listed ${list.length} users` };
  });
  route('POST', '/users', 'users', 'user-create', 'C', async (request) => {
    const user = await users.add(newUser(request.body));
    return {
      status: 201,
      body: userView(user),
      description: `created user ${user.username} (${user.roles.join(', ')})`,
    };
  });
  const userAction = (name: string, description: string, act: (username: string) => Promise<boolean>) =>
    route('POST', `/users/:username/${name}`, 'users', `user-${name}`, 'U', async (request) => {
      const username = pathParameter(request, 'username');
      if (!(await act(username))) throw new AdminRefusal(404, 'not_found', `No user named "${username}"`);
      const user = await users.byUsername(username);
      return {
        status: 200,
        body: user === undefined ? {} : userView(user),
        description: `${description} ${username}`,
      };
    });
  userAction('disable', 'disabled and signed out', (username) => users.setDisabled(username, true));
  userAction('enable', 'enabled', (username) => users.setDisabled(username, false));
  userAction('reset-mfa', 'reset the second factor of', (username) => users.resetMfa(username));
  userAction('sign-out', 'signed out everywhere', (username) => users.signOut(username));

  route('GET', '/clients', 'clients', 'client-list', 'R', async () => {
    const list = await clients.list();
    return {
      status: 200,
      body: { clients: list.map(clientView) },
      description: `listed ${list.length} clients`,
    };
  });
  route('POST', '/clients', 'clients', 'client-create', 'C', async (request) => {
    const { client, clientSecret } = await clients.add(newClient(request.body));
    return {
      status: 201,
      body: { ...clientView(client), ...(clientSecret !== undefined ? { clientSecret } : {}) },
      description: `registered client ${client.clientId} (${client.kind}, ${client.authMethod})`,
    };
  });
  const clientAction = (name: string, description: string, act: (clientId: string) => Promise<boolean>) =>
    route('POST', `/clients/:clientId/${name}`, 'clients', `client-${name}`, 'U', async (request) => {
      const clientId = pathParameter(request, 'clientId');
      if (!(await act(clientId))) throw new AdminRefusal(404, 'not_found', `No client "${clientId}"`);
      const client = await clients.byId(clientId);
      return {
        status: 200,
        body: client === undefined ? {} : clientView(client),
        description: `${description} ${clientId}`,
      };
    });
  clientAction('disable', 'disabled client', (clientId) => clients.setDisabled(clientId, true));
  clientAction('enable', 'enabled client', (clientId) => clients.setDisabled(clientId, false));
  route(
    'POST',
    '/clients/:clientId/rotate-secret',
    'clients',
    'client-rotate-secret',
    'U',
    async (request) => {
      const clientId = pathParameter(request, 'clientId');
      if ((await clients.byId(clientId)) === undefined)
        throw new AdminRefusal(404, 'not_found', `No client "${clientId}"`);
      const clientSecret = await clients.rotateSecret(clientId);
      return {
        status: 200,
        body: { clientId, clientSecret },
        description: `rotated the secret of client ${clientId}; its tokens are refused`,
      };
    },
  );
}

/**
 * The admin API is for administrators (DESIGN.md D6: "an administrator manages configuration and
 * users") and the demo administration client; a clinician's or patient's token is refused, and
 * so is a request without one, whatever `CONCORDIA_AUTH` says.
 */
function adminRefusal(principal: Principal): AdminRefusal | undefined {
  switch (principal.kind) {
    case 'user':
      return principal.roles.includes('administrator')
        ? undefined
        : new AdminRefusal(403, 'access_denied', 'The admin API is for users with the administrator role');
    case 'client':
      return principal.id === DEMO_ADMIN_CLIENT_ID
        ? undefined
        : new AdminRefusal(403, 'access_denied', 'The admin API is not open to this client application');
    default:
      return new AdminRefusal(401, 'invalid_request', 'The admin API needs an administrator’s bearer token');
  }
}

function failure(error: unknown): Outcome {
  if (error instanceof AdminRefusal) {
    return {
      status: error.status,
      body: { error: error.error, error_description: error.message },
      description: error.message,
    };
  }
  if (error instanceof UserError || error instanceof ClientError || error instanceof AdminInputError) {
    return {
      status: 400,
      body: { error: 'invalid_request', error_description: error.message },
      description: error.message,
    };
  }
  throw error;
}

function auditContext(
  request: FastifyRequest,
  principal: Principal,
  clientId: string | undefined,
): AuditContext {
  const userAgent = request.headers['user-agent'];
  return {
    principal,
    ...(clientId !== undefined ? { clientId } : {}),
    sourceIp: request.ip,
    requestId: String(request.id),
    ...(userAgent !== undefined ? { userAgent } : {}),
  };
}

function pathParameter(request: FastifyRequest, name: string): string {
  const params: unknown = request.params;
  const value: unknown =
    typeof params === 'object' && params !== null ? Reflect.get(params, name) : undefined;
  return typeof value === 'string' ? value : '';
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
