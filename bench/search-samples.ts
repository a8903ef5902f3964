/**
 * The sample manifest written beside a generated dataset: values the search scenarios draw their
 * queries from (patient ids, identifiers, codes, family-name stems, dates), taken from what was
 * actually generated, so every query can match something. Reservoir sampling with a fixed seed
 * keeps the manifest small and the same on every run.
 */
import { isJsonObject, type JsonObject, objectsAt, stringAt } from './json-value.ts';

export interface PatientSample {
  id: string;
  gender: string;
  birthDate: string;
  family: string;
  identifier: { system: string; value: string };
}

export interface PatientDatedCode {
  patientId: string;
  code: CodeSample;
  /** Day of the resource's own date, for `date=ge…` that matches at least that resource. */
  date: string;
}

export interface CodeSample {
  system: string;
  code: string;
  display: string;
  count: number;
}

export interface SearchSamples {
  resources: number;
  copies: number;
  resourcesByType: Record<string, number>;
  patients: PatientSample[];
  /** Patients with at least one AllergyIntolerance. */
  allergyPatientIds: string[];
  observations: PatientDatedCode[];
  /** Encounters with an attending practitioner, for `_include=Encounter:practitioner`. */
  encounters: { patientId: string; date: string }[];
  /** Source family names (without the copy syllable), most common first, for `name=smith`-like prefix queries. */
  familyStems: { stem: string; count: number }[];
  observationCodes: CodeSample[];
  conditionCodes: CodeSample[];
}

const reservoirSize = 200;
const topSize = 20;

export class SampleCollector {
  private readonly random = seededRandom(20_190_531);
  private readonly patients = new Reservoir<PatientSample>(reservoirSize, this.random);
  private readonly allergyPatients = new Reservoir<string>(reservoirSize, this.random);
  private readonly observations = new Reservoir<PatientDatedCode>(reservoirSize, this.random);
  private readonly encounters = new Reservoir<{ patientId: string; date: string }>(
    reservoirSize,
    this.random,
  );
  private readonly familyStems = new Map<string, number>();
  private readonly observationCodes = new Map<string, CodeSample>();
  private readonly conditionCodes = new Map<string, CodeSample>();
  private readonly resourcesByType = new Map<string, number>();
  private resources = 0;

  /** `familySuffix`: what this copy appended to family names, taken off again for the stems. */
  observe(resourceType: string, id: string, resource: JsonObject, familySuffix: string): void {
    this.resources += 1;
    this.resourcesByType.set(resourceType, (this.resourcesByType.get(resourceType) ?? 0) + 1);
    if (resourceType === 'Patient') this.observePatient(id, resource, familySuffix);
    else if (resourceType === 'Observation') this.observeObservation(resource);
    else if (resourceType === 'Encounter') this.observeEncounter(resource);
    else if (resourceType === 'AllergyIntolerance') {
      const patientId = referencedId(resource, 'patient');
      if (patientId !== undefined) this.allergyPatients.offer(patientId);
    } else if (resourceType === 'Condition') {
      const code = firstCoding(resource.code);
      if (code !== undefined) count(this.conditionCodes, code);
    }
  }

  result(copies: number): SearchSamples {
    return {
      resources: this.resources,
      copies,
      resourcesByType: Object.fromEntries([...this.resourcesByType].sort(([a], [b]) => a.localeCompare(b))),
      patients: this.patients.items(),
      allergyPatientIds: [...new Set(this.allergyPatients.items())],
      observations: this.observations.items(),
      encounters: this.encounters.items(),
      familyStems: [...this.familyStems]
        .map(([stem, count]) => ({ stem, count }))
        .sort((a, b) => b.count - a.count || a.stem.localeCompare(b.stem))
        .slice(0, topSize),
      observationCodes: mostCommon(this.observationCodes),
      conditionCodes: mostCommon(this.conditionCodes),
    };
  }

  private observePatient(id: string, resource: JsonObject, familySuffix: string): void {
    const family = objectsAt(resource, 'name')
      .map((name) => stringAt(name, 'family'))
      .find((name) => name !== undefined);
    const gender = stringAt(resource, 'gender');
    const birthDate = stringAt(resource, 'birthDate');
    const identifier = objectsAt(resource, 'identifier')
      .map((item) => ({ system: stringAt(item, 'system'), value: stringAt(item, 'value') }))
      .find((item) => item.system === 'https://github.com/synthetichealth/synthea');
    if (family === undefined || gender === undefined || birthDate === undefined) return;
    // Only plain-letter names: "O'Connell" is not what a `name=` prefix query would be typed as.
    const stem = family.slice(0, family.length - familySuffix.length).toLowerCase();
    if (/^[a-z]+$/.test(stem)) this.familyStems.set(stem, (this.familyStems.get(stem) ?? 0) + 1);
    if (identifier?.system === undefined || identifier.value === undefined) return;
    this.patients.offer({
      id,
      gender,
      birthDate,
      family,
      identifier: { system: identifier.system, value: identifier.value },
    });
  }

  private observeObservation(resource: JsonObject): void {
    const code = firstCoding(resource.code);
    if (code === undefined) return;
    count(this.observationCodes, code);
    const patientId = referencedId(resource, 'subject');
    const date = stringAt(resource, 'effectiveDateTime')?.slice(0, 10);
    if (patientId !== undefined && date !== undefined) this.observations.offer({ patientId, code, date });
  }

  private observeEncounter(resource: JsonObject): void {
    const patientId = referencedId(resource, 'subject');
    const date = objectsAt(resource, 'period')
      .map((period) => stringAt(period, 'start'))
      .find((start) => start !== undefined)
      ?.slice(0, 10);
    const attended = objectsAt(resource, 'participant').some((p) => isJsonObject(p.individual));
    if (patientId !== undefined && date !== undefined && attended) this.encounters.offer({ patientId, date });
  }
}

/** The id of a `Patient/<id>` reference in element `element`. */
function referencedId(resource: JsonObject, element: string): string | undefined {
  const reference = objectsAt(resource, element)
    .map((target) => stringAt(target, 'reference'))
    .find((value) => value !== undefined);
  return reference?.startsWith('Patient/') ? reference.slice('Patient/'.length) : undefined;
}

function firstCoding(concept: unknown): CodeSample | undefined {
  if (!isJsonObject(concept)) return undefined;
  const coding = objectsAt(concept, 'coding')[0];
  const system = coding === undefined ? undefined : stringAt(coding, 'system');
  const code = coding === undefined ? undefined : stringAt(coding, 'code');
  if (coding === undefined || system === undefined || code === undefined) return undefined;
  return { system, code, display: stringAt(coding, 'display') ?? '', count: 1 };
}

function count(counts: Map<string, CodeSample>, sample: CodeSample): void {
  const key = `${sample.system}|${sample.code}`;
  const known = counts.get(key);
  if (known === undefined) counts.set(key, sample);
  else known.count += 1;
}

function mostCommon(counts: Map<string, CodeSample>): CodeSample[] {
  return [...counts.values()]
    .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code))
    .slice(0, topSize);
}

/** Algorithm R: every offered item has the same chance to be kept, in bounded memory. */
class Reservoir<T> {
  private readonly kept: T[] = [];
  private offered = 0;

  constructor(
    private readonly size: number,
    private readonly random: () => number,
  ) {}

  offer(item: T): void {
    this.offered += 1;
    if (this.kept.length < this.size) {
      this.kept.push(item);
      return;
    }
    const slot = Math.floor(this.random() * this.offered);
    if (slot < this.size) this.kept[slot] = item;
  }

  items(): T[] {
    return [...this.kept];
  }
}

/** mulberry32: a tiny seeded generator, so the manifest is the same on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
