/**
 * The master-data rules (issue 5, docs/terminology.md "Master data enforcement"): which code
 * systems a diagnosis must be coded in, per care setting, and how the care setting is known.
 * Plain data read once by config.ts; the write hook (fhir/master-data-writes.ts) applies it.
 */

/** Where care happens, as far as the coding rules care. */
export type CareSetting = 'hospital' | 'primary-care';

export interface MasterDataConfig {
  /**
   * `reject`: a Condition or an Encounter diagnosis that breaks the rules is refused with 422;
   * `off` (default): no rule is checked.
   */
  codes: 'off' | 'reject';
  /** Code systems a diagnosis may be coded in, per care setting (canonical URLs). */
  systems: Readonly<Record<CareSetting, readonly string[]>>;
  /** Encounter.class codes (v3 ActCode) that place an encounter in each setting. */
  encounterClasses: Readonly<Record<CareSetting, readonly string[]>>;
  /**
   * Quantities whose system is http://unitsofmeasure.org must carry a valid UCUM code:
   * `reject` refuses the write with 422; `off` (default) does not check.
   */
  ucumUnits: 'off' | 'reject';
}

export const ICD10_URL = 'http://hl7.org/fhir/sid/icd-10';
export const ICD10CM_URL = 'http://hl7.org/fhir/sid/icd-10-cm';
export const ICPC2_URL = 'http://hl7.org/fhir/sid/icpc-2';

export const DEFAULT_MASTER_DATA: MasterDataConfig = {
  codes: 'off',
  systems: {
    // Secondary care codes in ICD-10 (WHO) or its clinical modification.
    hospital: [ICD10_URL, ICD10CM_URL],
    // Family doctors code in ICPC-2; ICD-10 is accepted too (issue 5).
    'primary-care': [ICPC2_URL, ICD10_URL, ICD10CM_URL],
  },
  encounterClasses: {
    // v3 ActEncounterCode: inpatient, acute and non-acute inpatient, emergency, short stay,
    // observation and pre-admission are hospital care.
    hospital: ['IMP', 'ACUTE', 'NONAC', 'EMER', 'SS', 'OBSENC', 'PRENC'],
    // Ambulatory, home health and virtual encounters are primary care.
    'primary-care': ['AMB', 'HH', 'VR'],
  },
  ucumUnits: 'off',
};

/** The care setting an Encounter.class code places an encounter in, if the rules name it. */
export function careSettingOfClass(
  config: MasterDataConfig,
  classCode: string | undefined,
): CareSetting | undefined {
  if (classCode === undefined) return undefined;
  if (config.encounterClasses.hospital.includes(classCode)) return 'hospital';
  if (config.encounterClasses['primary-care'].includes(classCode)) return 'primary-care';
  return undefined;
}

/** The systems a diagnosis may use in `setting`; every configured one when the setting is unknown. */
export function allowedSystems(
  config: MasterDataConfig,
  setting: CareSetting | undefined,
): readonly string[] {
  if (setting !== undefined) return config.systems[setting];
  return [...new Set([...config.systems.hospital, ...config.systems['primary-care']])];
}

/** Every system the rules name: codings in these are checked for validity wherever they appear. */
export function masterSystems(config: MasterDataConfig): ReadonlySet<string> {
  return new Set(allowedSystems(config, undefined));
}

const SYSTEM_NAMES: Record<string, string> = {
  [ICD10_URL]: 'ICD-10',
  [ICD10CM_URL]: 'ICD-10-CM',
  [ICPC2_URL]: 'ICPC-2',
};

/** `ICD-10 (http://hl7.org/fhir/sid/icd-10) or ICPC-2 (…)`, for messages. */
export function describeSystems(systems: readonly string[]): string {
  return systems
    .map((system) => (SYSTEM_NAMES[system] ? `${SYSTEM_NAMES[system]} (${system})` : system))
    .join(' or ');
}
