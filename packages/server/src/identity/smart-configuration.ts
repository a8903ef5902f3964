/**
 * SMART App Launch 2.0 discovery (https://hl7.org/fhir/smart-app-launch/conformance.html):
 * `[fhir base]/.well-known/smart-configuration`, what this server's authorization supports.
 */

import { OAUTH_ROUTES, OIDC_SCOPES } from './authorization-server.ts';
import { CLIENT_ASSERTION_ALGS } from './clients.ts';

export function smartConfiguration(issuer: string): Record<string, unknown> {
  const url = (path: string) => `${issuer}${path}`;
  return {
    issuer,
    jwks_uri: url(OAUTH_ROUTES.jwks),
    authorization_endpoint: url(OAUTH_ROUTES.authorization),
    token_endpoint: url(OAUTH_ROUTES.token),
    introspection_endpoint: url(OAUTH_ROUTES.introspection),
    revocation_endpoint: url(OAUTH_ROUTES.revocation),
    userinfo_endpoint: url(OAUTH_ROUTES.userinfo),
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: CLIENT_ASSERTION_ALGS,
    scopes_supported: [
      ...OIDC_SCOPES,
      'patient/*.rs',
      'patient/*.cruds',
      'user/*.rs',
      'user/*.cruds',
      'system/*.rs',
      'system/*.cruds',
    ],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'launch-ehr',
      'client-public',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'context-standalone-patient',
      'context-standalone-encounter',
      'context-ehr-patient',
      'context-ehr-encounter',
      'permission-offline',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
      'sso-openid-connect',
    ],
  };
}
