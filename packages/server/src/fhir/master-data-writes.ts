/**
 * Master-data enforcement on write (issue 5, DESIGN.md D14; docs/terminology.md): diagnoses carry
 * codes of the master classifiers, valid and not retired, and UCUM units are real UCUM.
 *
 * - Before each change is applied: every coding of `Condition.code` in a master system (ICD-10,
 *   ICD-10-CM, ICPC-2 — the configured ones) must be a known, active code of it; every Quantity
 *   with system http://unitsofmeasure.org must carry a valid UCUM code (`ucumUnits`).
 * - Before the transaction commits: the care-setting rule. A Condition must carry a code of a
 *   system its setting allows (hospital: ICD-10; primary care: ICPC-2 or ICD-10), the setting being
 *   that of `Condition.encounter` (its `class`); an Encounter's `diagnosis` Conditions must too.
 *   This runs at commit because a transaction Bundle may write the Encounter after the Condition
 *   that refers to it (transaction.html: entries are processed in an order of the server's choice).
 *
 * Each refusal is a 422 whose issue names the element by FHIRPath (`Condition.code.coding[0]`)
 * and the code.
 */
import {
  FhirError,
  type IdentifiedResource,
  isRecord,
  type OutcomeIssue,
  ucumUnitProblem,
} from '@concordia/fhir';
import type { StoredVersion } from '../store/port.ts';
import {
  allowedSystems,
  type CareSetting,
  careSettingOfClass,
  describeSystems,
  type MasterDataConfig,
  masterSystems,
} from '../terminology/master-data-policy.ts';
import type { TerminologyService } from '../terminology/terminology-service.ts';
import type { WriteHook, WriteScope } from './write-hooks.ts';

const UCUM_SYSTEM = 'http://unitsofmeasure.org';

export function masterDataWrites(config: MasterDataConfig, terminology: TerminologyService): WriteHook[] {
  const hooks: WriteHook[] = [];
  if (config.codes === 'reject') hooks.push(...diagnosisCodeHooks(config, terminology));
  if (config.ucumUnits === 'reject') hooks.push(ucumUnitHook());
  return hooks;
}

function diagnosisCodeHooks(config: MasterDataConfig, terminology: TerminologyService): WriteHook[] {
  const master = masterSystems(config);
  return [
    {
      resourceType: 'Condition',
      async beforeApply(change, scope) {
        if (change.kind !== 'write') return;
        const issues = await invalidMasterCodes(change.resource, master, terminology, scope);
        if (issues.length > 0) throw new FhirError('unprocessable', issues);
      },
      async beforeCommit(versions, scope) {
        const issues: OutcomeIssue[] = [];
        for (const condition of currentResources(versions)) {
          const setting = await settingOfCondition(condition, config, scope);
          const issue = missingSettingCode(condition, config, setting, 'Condition.code');
          if (issue !== undefined) issues.push(issue);
        }
        if (issues.length > 0) throw new FhirError('unprocessable', issues);
      },
    },
    {
      resourceType: 'Encounter',
      async beforeCommit(versions, scope) {
        const issues: OutcomeIssue[] = [];
        for (const encounter of currentResources(versions)) {
          issues.push(...(await encounterDiagnosisIssues(encounter, config, scope)));
        }
        if (issues.length > 0) throw new FhirError('unprocessable', issues);
      },
    },
  ];
}

/** Codings of `Condition.code` in a master system that are unknown or retired there. */
async function invalidMasterCodes(
  condition: IdentifiedResource,
  master: ReadonlySet<string>,
  terminology: TerminologyService,
  scope: WriteScope,
): Promise<OutcomeIssue[]> {
  const issues: OutcomeIssue[] = [];
  for (const [index, coding] of codingsOf(condition.code).entries()) {
    if (coding.system === undefined || !master.has(coding.system)) continue;
    const where = `Condition.code.coding[${index}]`;
    if (coding.code === undefined) {
      issues.push(issue('required', `${where} has system ${coding.system} but no code`, where));
      continue;
    }
    const result = await terminology.validateCode(scope.ctx, {
      system: coding.system,
      code: coding.code,
      ...(coding.version !== undefined ? { version: coding.version } : {}),
    });
    if (result.inactive === true) {
      issues.push(
        issue(
          'code-invalid',
          `${where}: code '${coding.code}' of ${coding.system} is retired (inactive)`,
          where,
        ),
      );
    } else if (!result.result) {
      const why = result.message !== undefined ? `: ${result.message}` : '';
      issues.push(
        issue(
          'code-invalid',
          `${where}: code '${coding.code}' is not a valid code of ${coding.system}${why}`,
          where,
        ),
      );
    }
  }
  return issues;
}

/** The rule's issue when `condition` carries no code of a system its setting allows. */
function missingSettingCode(
  condition: IdentifiedResource,
  config: MasterDataConfig,
  setting: CareSetting | undefined,
  expression: string,
): OutcomeIssue | undefined {
  const allowed = allowedSystems(config, setting);
  const codings = codingsOf(condition.code);
  if (
    codings.some(
      (coding) => coding.system !== undefined && coding.code !== undefined && allowed.includes(coding.system),
    )
  ) {
    return undefined;
  }
  const where =
    setting === undefined ? '' : setting === 'hospital' ? ' in a hospital encounter' : ' in primary care';
  const found = codings.map((coding) => `${coding.system ?? '(no system)'}|${coding.code ?? ''}`).join(', ');
  return issue(
    'code-invalid',
    `${expression}: Condition/${condition.id} must carry a code of ${describeSystems(allowed)}${where}; it has ${found === '' ? 'none' : found}`,
    expression,
  );
}

async function settingOfCondition(
  condition: IdentifiedResource,
  config: MasterDataConfig,
  scope: WriteScope,
): Promise<CareSetting | undefined> {
  const id = referencedId(condition.encounter, 'Encounter');
  if (id === undefined) return undefined;
  const encounter = await readCurrent(scope, 'Encounter', id);
  return encounter === undefined ? undefined : settingOfEncounter(encounter, config);
}

function settingOfEncounter(
  encounter: Record<string, unknown>,
  config: MasterDataConfig,
): CareSetting | undefined {
  const encounterClass = isRecord(encounter.class) ? encounter.class : undefined;
  return careSettingOfClass(
    config,
    typeof encounterClass?.code === 'string' ? encounterClass.code : undefined,
  );
}

/** `Encounter.diagnosis[i].condition` Conditions without a code of the encounter's setting. */
async function encounterDiagnosisIssues(
  encounter: IdentifiedResource,
  config: MasterDataConfig,
  scope: WriteScope,
): Promise<OutcomeIssue[]> {
  const diagnoses = Array.isArray(encounter.diagnosis) ? encounter.diagnosis : [];
  const setting = settingOfEncounter(encounter, config);
  const issues: OutcomeIssue[] = [];
  for (const [index, diagnosis] of diagnoses.entries()) {
    const id = isRecord(diagnosis) ? referencedId(diagnosis.condition, 'Condition') : undefined;
    if (id === undefined) continue; // A Procedure, or a reference the store cannot follow.
    const condition = await readCurrent(scope, 'Condition', id);
    if (condition === undefined) continue;
    const found = missingSettingCode(
      { ...condition, resourceType: 'Condition', id },
      config,
      setting,
      `Encounter.diagnosis[${index}].condition`,
    );
    if (found !== undefined) issues.push(found);
  }
  return issues;
}

function ucumUnitHook(): WriteHook {
  return {
    beforeApply(change) {
      if (change.kind !== 'write') return;
      const issues: OutcomeIssue[] = [];
      visitQuantities(change.resource, change.resource.resourceType, (quantity, path) => {
        const code = quantity.code;
        if (typeof code !== 'string') {
          issues.push(issue('required', `${path}: a Quantity with system ${UCUM_SYSTEM} needs a code`, path));
          return;
        }
        const problem = ucumUnitProblem(code);
        if (problem !== undefined)
          issues.push(issue('code-invalid', `${path}.code: ${problem}`, `${path}.code`));
      });
      if (issues.length > 0) throw new FhirError('unprocessable', issues);
    },
  };
}

/** Every object with `system` http://unitsofmeasure.org (a Quantity or one of its profiles), with its FHIRPath. */
function visitQuantities(
  value: unknown,
  path: string,
  visit: (quantity: Record<string, unknown>, path: string) => void,
): void {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) visitQuantities(item, `${path}[${index}]`, visit);
    return;
  }
  if (!isRecord(value)) return;
  if (value.system === UCUM_SYSTEM && ('value' in value || 'code' in value || 'unit' in value)) {
    visit(value, path);
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('_') || typeof child !== 'object' || child === null) continue;
    visitQuantities(child, `${path}.${key}`, visit);
  }
}

interface CodingValue {
  system?: string;
  version?: string;
  code?: string;
}

function codingsOf(concept: unknown): CodingValue[] {
  const codings = isRecord(concept) && Array.isArray(concept.coding) ? concept.coding : [];
  return codings.map((coding) =>
    isRecord(coding)
      ? {
          ...(typeof coding.system === 'string' ? { system: coding.system } : {}),
          ...(typeof coding.version === 'string' ? { version: coding.version } : {}),
          ...(typeof coding.code === 'string' ? { code: coding.code } : {}),
        }
      : {},
  );
}

/** The id of a literal reference `Type/id` (relative, or absolute on any base). */
function referencedId(reference: unknown, type: string): string | undefined {
  if (!isRecord(reference) || typeof reference.reference !== 'string') return undefined;
  const match = new RegExp(`(?:^|/)${type}/([A-Za-z0-9\\-.]{1,64})(?:/_history/[^/]+)?$`).exec(
    reference.reference,
  );
  return match?.[1];
}

async function readCurrent(
  scope: WriteScope,
  type: string,
  id: string,
): Promise<Record<string, unknown> | undefined> {
  const stored = await scope.tx.read(scope.ctx, type, id);
  if (stored === undefined || stored.deleted || stored.json === undefined) return undefined;
  const resource: unknown = JSON.parse(stored.json);
  return isRecord(resource) ? resource : undefined;
}

function currentResources(versions: readonly StoredVersion[]): IdentifiedResource[] {
  // The last version of each resource the transaction wrote is the one that commits.
  const last = new Map<string, StoredVersion>();
  for (const version of versions) last.set(version.id, version);
  return [...last.values()].flatMap((version) => {
    if (version.deleted || version.json === undefined) return [];
    const resource: unknown = JSON.parse(version.json);
    return isRecord(resource) && typeof resource.resourceType === 'string' && typeof resource.id === 'string'
      ? [{ ...resource, resourceType: resource.resourceType, id: resource.id }]
      : [];
  });
}

function issue(code: OutcomeIssue['code'], diagnostics: string, expression: string): OutcomeIssue {
  return { severity: 'error', code, diagnostics, expression: [expression] };
}
