/**
 * The audit of everything the core answers that is not a committed write (those are recorded with
 * their version, write-audit-recorder.ts): reads, vreads, searches, history, operations (bulk
 * export and import kick-offs included), transactions and batches as one event each, and every
 * refused or failed request (401, 403, 404, 5xx…). Its access-log row goes to the batched sink and
 * the request waits until it is stored: an observer that throws fails the request (fail closed).
 *
 * One exception: a successful request for master data or conformance resources that names no
 * patient (`CodeSystem/$validate-code`, `ValueSet/$expand`, a StructureDefinition read) is
 * recorded just the same but answered without waiting. Failing closed protects clinical data;
 * holding a terminology lookup for a commit protects nobody and doubles its latency. Should its
 * batch fail, the row is logged whole, so it is still never dropped silently.
 */
import { isRecord } from '@concordia/fhir';
import type { Logger } from 'pino';
import type { FhirResponse, InteractionName } from '../fhir/interaction.ts';
import type { InteractionObserver, ObservedInteraction } from '../fhir/interaction-observer.ts';
import { accessRowOf } from './access-log.ts';
import type { AuditFacts } from './audit-event.ts';
import type { AuditSink } from './audit-sink.ts';
import {
  type Coding,
  interactionCoding,
  OPERATION_SYSTEM,
  outcomeOfStatus,
  REST_TYPE,
} from './balp-codes.ts';
import { patientReference, patientsOfJson, patientsOfResource } from './patient-references.ts';

/** Interactions whose success writes versions, each already audited in the write's transaction. */
const WRITES: ReadonlySet<InteractionName> = new Set(['create', 'update', 'patch', 'delete']);

/** Search parameters whose value names the patient a search is about (`Observation?patient=1`). */
const PATIENT_PARAMETERS: ReadonlySet<string> = new Set(['patient', 'subject', 'beneficiary']);

/** Resource types that hold no one's health data: terminology and conformance (master data). */
const NON_CLINICAL_TYPES: ReadonlySet<string> = new Set([
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'NamingSystem',
  'StructureDefinition',
  'SearchParameter',
  'OperationDefinition',
  'CompartmentDefinition',
  'ImplementationGuide',
  'StructureMap',
  'TerminologyCapabilities',
]);

export interface InteractionAuditDeps {
  sink: AuditSink;
  /** Where a non-clinical request's row goes when its batch fails (it was answered meanwhile). */
  logger: Logger;
  /** Told of every answer first (the writes' events are committed once it succeeded). */
  answered?: (observed: ObservedInteraction) => void;
}

export function interactionAudit(deps: InteractionAuditDeps): InteractionObserver {
  return async (observed) => {
    const { interaction, response } = observed;
    deps.answered?.(observed);
    // The CapabilityStatement is public and says nothing about anyone (a refused one is audited).
    if (interaction === 'capabilities' && response.status < 400) return;
    // A delete of a hidden target answers like one of nothing, yet is a denial (hidden-targets.ts).
    if (response.status < 400 && WRITES.has(interaction) && response.denied === undefined) return;
    // Facts, not the BALP event: the event is built when an auditor reads it (access-log.ts).
    const facts = interactionFacts(observed);
    const row = accessRowOf(facts);
    if (response.status < 400 && facts.patients.length === 0 && isNonClinical(observed.request.path)) {
      deps.sink
        .deferAccess(row)
        .catch((error: unknown) =>
          deps.logger.error({ err: error, accessLog: [row] }, 'audit event not stored'),
        );
      return;
    }
    await deps.sink.recordAccess(row);
  };
}

function isNonClinical(path: string): boolean {
  const type = path.split('/', 1)[0] ?? '';
  return NON_CLINICAL_TYPES.has(type);
}

export function interactionFacts({ ctx, request, interaction, response }: ObservedInteraction): AuditFacts {
  const { subtype, action } = interactionCoding(interaction);
  const segments = request.path === '' ? [] : request.path.split('/');
  const target = targetOf(segments);
  const subtypes: Coding[] = [subtype];
  const operation = segments.find((segment) => segment.startsWith('$'));
  if (operation !== undefined) subtypes.push({ system: OPERATION_SYSTEM, code: operation.slice(1) });

  const patients = new Set<string>();
  if (target.patient !== undefined) patients.add(target.patient);
  for (const [name, value] of request.query) {
    if (!PATIENT_PARAMETERS.has(name.split(':')[0] ?? name)) continue;
    for (const item of value.split(',')) {
      const patient = patientReference(item.includes('/') ? item : `Patient/${item}`);
      if (patient !== undefined) patients.add(patient);
    }
  }
  const entities = [...target.entities];
  if (response.status < 400) collectFromBody(response, interaction, target, patients, entities);

  const query = request.query
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`)
    .join('&');
  // A target the access decision hides is a denial, answered 404 or 403 (fhir/hidden-targets.ts).
  const outcomeDescription =
    response.denied ?? (response.status >= 400 ? diagnosticsOf(response) : undefined);
  return {
    ctx,
    recorded: new Date().toISOString(),
    type: REST_TYPE,
    subtypes,
    action,
    outcome: response.denied !== undefined ? outcomeOfStatus(403) : outcomeOfStatus(response.status),
    ...(outcomeDescription !== undefined ? { outcomeDescription } : {}),
    entities,
    ...(query !== '' ? { query } : {}),
    patients: [...patients],
  };
}

interface Target {
  entities: string[];
  /** The patient named by the path: `Patient/1`, `Patient/1/Observation`, `Patient/1/$everything`. */
  patient?: string;
  resourceType?: string;
}

function targetOf(segments: readonly string[]): Target {
  const [type, id, third, version] = segments;
  if (type === undefined || type.startsWith('$') || type.startsWith('_')) return { entities: [] };
  if (id === undefined || id.startsWith('_') || id.startsWith('$'))
    return { entities: [type], resourceType: type };
  const instance = `${type}/${id}`;
  const patient = type === 'Patient' ? instance : undefined;
  const entity = third === '_history' && version !== undefined ? `${instance}/_history/${version}` : instance;
  return { entities: [entity], resourceType: type, ...(patient !== undefined ? { patient } : {}) };
}

/**
 * The patients (and, for a transaction or batch, the resources) in a successful answer.
 */
function collectFromBody(
  response: FhirResponse,
  interaction: InteractionName,
  target: Target,
  patients: Set<string>,
  entities: string[],
): void {
  const body = response.body;
  if (body === undefined) return;
  const isBundle = interaction === 'transaction' || interaction === 'batch';
  // The path already named the patient (`Patient/1`, `Patient/1/Observation`, `Patient/1/$everything`):
  // everything in the answer is theirs, and a whole chart is not worth parsing to learn that again.
  if (target.patient !== undefined && !isBundle) return;
  // Terminology and conformance answers ($validate-code, $expand, a StructureDefinition) name no
  // patient, and they are the busiest requests there are: not parsed to find none.
  if (target.resourceType !== undefined && NON_CLINICAL_TYPES.has(target.resourceType)) return;
  if (body.kind === 'json') {
    // A JSON answer of its own type (a bulk export manifest) is not FHIR.
    if (body.contentType !== undefined) return;
    patientsOfJson(body.json, patients);
  } else patientsOfResource(body.resource, patients);
  if (isBundle && body.kind === 'resource') {
    entities.push(...bundleEntryTargets(body.resource));
  }
}

/** `Type/id/_history/n` of each entry of a transaction or batch response (`response.location`). */
function bundleEntryTargets(bundle: unknown): string[] {
  if (!isRecord(bundle) || !Array.isArray(bundle.entry)) return [];
  const targets: string[] = [];
  for (const entry of bundle.entry) {
    const location = isRecord(entry) && isRecord(entry.response) ? entry.response.location : undefined;
    if (typeof location !== 'string') continue;
    const match = /([A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?)$/.exec(location);
    if (match?.[1] !== undefined) targets.push(match[1]);
  }
  return targets;
}

function diagnosticsOf(response: FhirResponse): string | undefined {
  const body = response.body;
  if (body?.kind !== 'resource' || !Array.isArray(body.resource.issue)) return undefined;
  const texts = body.resource.issue
    .map((issue: unknown) =>
      isRecord(issue) && typeof issue.diagnostics === 'string' ? issue.diagnostics : undefined,
    )
    .filter((text): text is string => text !== undefined);
  return texts.length > 0 ? texts.join('; ') : undefined;
}
