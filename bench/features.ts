/**
 * Parts of the server a run can switch off to measure what they cost (`--without audit,ledger`):
 * each scenario is then measured twice in every round, on a server with everything on and on one
 * with these parts off, and reported as a ratio of the two. The environment variables are the
 * server's own settings (docs/configuration.md).
 */
export const switchableFeatures = {
  audit: { env: { CONCORDIA_AUDIT: 'off' }, description: 'AuditEvents for reads and writes' },
  ledger: { env: { CONCORDIA_LEDGER: 'off' }, description: 'ledger entries beside every version' },
  validation: { env: { CONCORDIA_VALIDATION: 'off' }, description: 'profile validation on write' },
  'rate-limit': { env: { CONCORDIA_RATE_LIMIT: 'off' }, description: 'request budgets per client and IP' },
} as const satisfies Record<string, { env: Record<string, string>; description: string }>;

export type Feature = keyof typeof switchableFeatures;

export function isFeature(name: string): name is Feature {
  return Object.hasOwn(switchableFeatures, name);
}

/** The server environment with `features` switched off. */
export function environmentWithout(features: readonly Feature[]): Record<string, string> {
  return Object.assign({}, ...features.map((feature) => switchableFeatures[feature].env));
}
