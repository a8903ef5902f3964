/**
 * What the exchange validates on write (issue 5, docs/validation.md): a policy per resource type
 * and the profiles each type must also conform to. Plain data, parsed once by config.ts from
 * `parseValidationSettings`; the write hook (validation-write-hook.ts) applies it.
 */

/**
 * `reject`: a write with an error-level issue is refused with 422 (its issues in the
 * OperationOutcome); `warn`: it is stored and its issues are logged; `off`: not validated beyond
 * the structural checks every write gets (resource-body.ts).
 */
export type ValidationPolicy = 'reject' | 'warn' | 'off';

export const VALIDATION_POLICIES: readonly ValidationPolicy[] = ['reject', 'warn', 'off'];

export interface ValidationConfig {
  /** The policy of every type without its own (`CONCORDIA_VALIDATION`, default `reject`). */
  policy: ValidationPolicy;
  /** Per type: `CONCORDIA_VALIDATION_TYPES=Observation:warn,Binary:off`. */
  policyByType: Readonly<Record<string, ValidationPolicy>>;
  /** Profiles a type must conform to on write: `CONCORDIA_VALIDATION_PROFILES=Patient=url1|url2;Condition=url3`. */
  profilesByType: Readonly<Record<string, readonly string[]>>;
  /** FHIR NPM packages (folders or .tgz) loaded at start (`CONCORDIA_CONFORMANCE_DIR`). */
  conformanceDir?: string;
  /** URL prefixes whose extensions need no definition (`CONCORDIA_VALIDATION_EXTENSION_DOMAINS`, comma-separated). */
  allowedExtensionDomains: readonly string[];
}

export const DEFAULT_VALIDATION: ValidationConfig = {
  policy: 'reject',
  policyByType: {},
  profilesByType: {},
  allowedExtensionDomains: [],
};

export function policyFor(config: ValidationConfig, resourceType: string): ValidationPolicy {
  return config.policyByType[resourceType] ?? config.policy;
}

/** Raw environment values, as config.ts reads them. */
export interface ValidationSettings {
  policy?: string;
  types?: string;
  profiles?: string;
  conformanceDir?: string;
  extensionDomains?: string;
}

function isPolicy(value: string): value is ValidationPolicy {
  return (VALIDATION_POLICIES as readonly string[]).includes(value);
}

/** Parses the settings; every problem is added to `problems` (config.ts fails fast on them). */
export function parseValidationSettings(settings: ValidationSettings, problems: string[]): ValidationConfig {
  const policy = settings.policy ?? DEFAULT_VALIDATION.policy;
  if (!isPolicy(policy))
    problems.push(`CONCORDIA_VALIDATION must be one of ${VALIDATION_POLICIES.join(', ')}, got "${policy}"`);
  const policyByType: Record<string, ValidationPolicy> = {};
  for (const item of (settings.types ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const [type, value] = item.split(':').map((s) => s.trim());
    if (type === undefined || value === undefined || !/^[A-Z][A-Za-z]+$/.test(type) || !isPolicy(value)) {
      problems.push(`CONCORDIA_VALIDATION_TYPES: "${item}" is not Type:${VALIDATION_POLICIES.join('|')}`);
    } else policyByType[type] = value;
  }
  const profilesByType: Record<string, string[]> = {};
  for (const item of (settings.profiles ?? '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const equals = item.indexOf('=');
    const type = item.slice(0, equals).trim();
    const urls = item
      .slice(equals + 1)
      .split('|')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (
      equals < 0 ||
      !/^[A-Z][A-Za-z]+$/.test(type) ||
      urls.length === 0 ||
      !urls.every((u) => /^[a-z][a-z0-9+.-]*:\S+$/i.test(u))
    ) {
      problems.push(`CONCORDIA_VALIDATION_PROFILES: "${item}" is not Type=url|url`);
    } else profilesByType[type] = urls;
  }
  const allowedExtensionDomains = (settings.extensionDomains ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    policy: isPolicy(policy) ? policy : DEFAULT_VALIDATION.policy,
    policyByType,
    profilesByType,
    ...(settings.conformanceDir === undefined ? {} : { conformanceDir: settings.conformanceDir }),
    allowedExtensionDomains,
  };
}
