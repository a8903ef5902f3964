/** The authorization server's endpoints as the CapabilityStatement lists them (`rest.security`). */
import type { Config } from '../config.ts';
import type { CapabilitySecurity } from '../fhir/capabilities.ts';
import { OAUTH_ROUTES } from './authorization-server.ts';

export function capabilitySecurity(config: Config): CapabilitySecurity {
  return {
    required: config.authMode === 'required',
    authorize: `${config.baseUrl}${OAUTH_ROUTES.authorization}`,
    token: `${config.baseUrl}${OAUTH_ROUTES.token}`,
    revoke: `${config.baseUrl}${OAUTH_ROUTES.revocation}`,
    introspect: `${config.baseUrl}${OAUTH_ROUTES.introspection}`,
  };
}
