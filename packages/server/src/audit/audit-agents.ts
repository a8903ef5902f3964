/**
 * The agents of an AuditEvent in the BALP shape: who asked (a signed-in user with their roles and
 * token, a client acting on its own, an internal job, someone signing in), the application they
 * used, the organization they act for, and this server; each with what `AuditEvent?agent=` matches.
 */
import {
  CLIENT_AGENT_TYPE,
  CONCORDIA_CLIENT,
  CONCORDIA_ROLE,
  CONCORDIA_USER,
  type Coding,
  PURPOSE_OF_USE,
  SERVER_AGENT_TYPE,
  USER_AGENT_TYPE,
} from './balp-codes.ts';

/**
 * What the audit records of who asked: the part of a request context (access/request-context.ts,
 * which is one) an AuditEvent names, and all that the access log keeps to rebuild the event later.
 */
export interface AuditContext {
  principal: AuditedPrincipal;
  clientId?: string;
  purposeOfUse?: string;
  breakTheGlass?: { reason: string };
  sourceIp?: string;
  userAgent?: string;
  requestId: string;
}

export type AuditedPrincipal =
  | { kind: 'open-development' }
  | { kind: 'anonymous' }
  | { kind: 'system'; id: string }
  | {
      kind: 'user';
      id: string;
      roles: readonly string[];
      fhirUser?: string;
      organization?: string;
      tokenId?: string;
      clientId?: string;
    }
  | {
      kind: 'client';
      id: string;
      roles: readonly string[];
      organization?: string;
      tokenId?: string;
      clientId?: string;
    };

export interface ClaimedUser {
  id: string;
  fhirUser?: string;
  roles?: readonly string[];
}

/** This node, as `AuditEvent.source` and the server agent name it. */
export interface AuditSource {
  /** `source.observer.display` and the server agent's name: the FHIR base URL of this node. */
  observer: string;
  /** `source.site`: the installation (region, consortium) the node belongs to. */
  site?: string;
}

export interface Agent {
  element: Record<string, unknown>;
  /** What `AuditEvent?agent=` matches this agent by. */
  keys: string[];
}

export function agentsOf(
  ctx: AuditContext,
  claimedUser: ClaimedUser | undefined,
  source: AuditSource,
): Agent[] {
  const network = ctx.sourceIp !== undefined ? { network: { address: ctx.sourceIp, type: '2' } } : {};
  const purpose = ctx.purposeOfUse !== undefined ? { purposeOfUse: [purposeOf(ctx.purposeOfUse)] } : {};
  const userAgent = ctx.userAgent !== undefined ? { name: ctx.userAgent } : {};
  const clientId = ctx.clientId ?? clientOf(ctx.principal);
  const server: Agent = {
    element: { type: SERVER_AGENT_TYPE, who: { display: source.observer }, requestor: false },
    keys: [],
  };
  const client = (requestor: boolean, roles: readonly string[]): Agent | undefined =>
    clientId === undefined
      ? undefined
      : {
          element: {
            type: CLIENT_AGENT_TYPE,
            who: { identifier: { system: CONCORDIA_CLIENT, value: clientId } },
            ...(roles.length > 0 ? { role: roles.map(roleOf) } : {}),
            requestor,
            ...userAgent,
            ...network,
            ...(requestor ? purpose : {}),
          },
          keys: [clientId, `client:${clientId}`],
        };
  const organization = organizationAgent(ctx.principal);
  const principal = ctx.principal;
  switch (principal.kind) {
    case 'user': {
      const who =
        principal.fhirUser !== undefined
          ? { reference: principal.fhirUser }
          : { identifier: { system: CONCORDIA_USER, value: principal.id } };
      const user: Agent = {
        element: {
          type: USER_AGENT_TYPE,
          who,
          altId: principal.id,
          role: principal.roles.map(roleOf),
          requestor: true,
          ...(principal.tokenId !== undefined ? { policy: [principal.tokenId] } : {}),
          ...network,
          ...purpose,
        },
        keys: [
          principal.id,
          `user:${principal.id}`,
          ...(principal.fhirUser !== undefined ? [principal.fhirUser] : []),
        ],
      };
      return compact([user, client(false, []), organization, server]);
    }
    case 'client':
      return compact([client(true, principal.roles), organization, server]);
    default: {
      // Not a token holder: an internal job, the open development principal, an anonymous caller,
      // someone who tried to sign in as `claimedUser`, or a client asking for a token on its own.
      const requestingClient =
        principal.kind === 'anonymous' && claimedUser === undefined ? client(true, []) : undefined;
      if (requestingClient !== undefined) return compact([requestingClient, server]);
      const name = principal.kind === 'system' ? `system:${principal.id}` : principal.kind;
      const who =
        claimedUser === undefined
          ? { display: name }
          : claimedUser.fhirUser !== undefined
            ? { reference: claimedUser.fhirUser }
            : { identifier: { system: CONCORDIA_USER, value: claimedUser.id } };
      const requestor: Agent = {
        element: {
          type: USER_AGENT_TYPE,
          who,
          ...(claimedUser !== undefined ? { altId: claimedUser.id } : {}),
          ...(claimedUser?.roles !== undefined ? { role: claimedUser.roles.map(roleOf) } : {}),
          requestor: true,
          ...userAgent,
          ...network,
          ...purpose,
        },
        keys:
          claimedUser === undefined
            ? [name]
            : [
                claimedUser.id,
                `user:${claimedUser.id}`,
                ...(claimedUser.fhirUser !== undefined ? [claimedUser.fhirUser] : []),
              ],
      };
      return compact([requestor, client(false, []), server]);
    }
  }
}

/** The organization the actor acts for (the token's binding), as an agent so the access report can name it. */
function organizationAgent(principal: AuditedPrincipal): Agent | undefined {
  if ((principal.kind !== 'user' && principal.kind !== 'client') || principal.organization === undefined)
    return undefined;
  return {
    element: {
      type: {
        system: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass',
        code: 'PROV',
        display: 'healthcare provider',
      },
      who: { reference: principal.organization },
      requestor: false,
    },
    keys: [principal.organization],
  };
}

/** The client a user or client principal came through: what the access log stores with `ctx.clientId`. */
export function clientOf(principal: AuditedPrincipal): string | undefined {
  return principal.kind === 'user' || principal.kind === 'client' ? principal.clientId : undefined;
}

function roleOf(role: string): { coding: Coding[] } {
  return { coding: [{ system: CONCORDIA_ROLE, code: role }] };
}

/** A purpose of use; `reason`: the break-the-glass reason the clinician gave, as its text. */
export function purposeOf(code: string, reason?: string): { coding: Coding[]; text?: string } {
  return {
    coding: [{ system: PURPOSE_OF_USE, code }],
    ...(reason !== undefined && reason !== '' ? { text: reason } : {}),
  };
}

function compact(agents: (Agent | undefined)[]): Agent[] {
  return agents.filter((agent): agent is Agent => agent !== undefined);
}
