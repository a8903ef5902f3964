/**
 * The master-data and terminology settings of config.ts (docs/configuration.md, docs/terminology.md):
 * off by default, overridable lists, and bad values refused at start.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.ts';
import { careSettingOfClass } from '../../src/terminology/master-data-policy.ts';

describe('master-data settings', () => {
  it('are off by default, with ICD-10 for hospitals and ICPC-2 or ICD-10 for primary care', () => {
    const config = loadConfig({});
    expect(config.masterData.codes).toBe('off');
    expect(config.masterData.ucumUnits).toBe('off');
    expect(config.terminologySearchMaxCodes).toBe(10_000);
    expect(config.masterData.systems.hospital).toEqual([
      'http://hl7.org/fhir/sid/icd-10',
      'http://hl7.org/fhir/sid/icd-10-cm',
    ]);
    expect(config.masterData.systems['primary-care']).toContain('http://hl7.org/fhir/sid/icpc-2');
    expect(careSettingOfClass(config.masterData, 'EMER')).toBe('hospital');
    expect(careSettingOfClass(config.masterData, 'AMB')).toBe('primary-care');
    expect(careSettingOfClass(config.masterData, 'FLD')).toBeUndefined();
  });

  it('reads the rules, the lists and the search limit from the environment', () => {
    const config = loadConfig({
      CONCORDIA_MASTER_DATA: 'reject',
      CONCORDIA_UCUM_UNITS: 'reject',
      CONCORDIA_MASTER_DATA_HOSPITAL_SYSTEMS: 'http://hl7.org/fhir/sid/icd-10, https://example.org/icd-10-ua',
      CONCORDIA_MASTER_DATA_PRIMARY_CARE_CLASSES: 'AMB,VR',
      CONCORDIA_TERMINOLOGY_SEARCH_MAX_CODES: '500',
    });
    expect(config.masterData).toMatchObject({ codes: 'reject', ucumUnits: 'reject' });
    expect(config.masterData.systems.hospital).toEqual([
      'http://hl7.org/fhir/sid/icd-10',
      'https://example.org/icd-10-ua',
    ]);
    expect(careSettingOfClass(config.masterData, 'HH')).toBeUndefined();
    expect(config.terminologySearchMaxCodes).toBe(500);
  });

  it('refuses an unknown policy, a class in both settings and a system that is not a URI', () => {
    const attempt = () =>
      loadConfig({
        CONCORDIA_MASTER_DATA: 'warn',
        CONCORDIA_MASTER_DATA_PRIMARY_CARE_CLASSES: 'AMB,EMER',
        CONCORDIA_MASTER_DATA_PRIMARY_CARE_SYSTEMS: 'ICPC-2',
      });
    expect(attempt).toThrow(ConfigError);
    expect(attempt).toThrow(/CONCORDIA_MASTER_DATA must be one of off, reject/);
    expect(attempt).toThrow(/both care settings: EMER/);
    expect(attempt).toThrow(/not a URI: "ICPC-2"/);
  });
});
