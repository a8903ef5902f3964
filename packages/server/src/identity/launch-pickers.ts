/**
 * The steps of a standalone launch's consent page that set its context (SMART App Launch 2.0,
 * https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token):
 * `launch/patient` → the user picks a patient; `launch/encounter` → then one of that patient's
 * encounters. What is offered and what is accepted are both read as the signed-in user
 * (launch-reader.ts), so a patient or encounter id posted by hand that the user may not read is
 * refused like one that does not exist, and an encounter must be the chosen patient's.
 */
import { isRecord } from '@concordia/fhir';
import type { RequestContext } from '../access/request-context.ts';
import type { LaunchContext } from './launch-context.ts';
import type { EncounterPickerView, PatientChoice, PatientPickerView } from './pages.ts';
import { displayName, type PatientDirectory, type PickerPage } from './patient-picker.ts';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

/** What the page was asked for: the filter box, a page cursor, and the patient chosen so far. */
export interface PickerParams {
  name?: string;
  cursor?: string;
  patient?: string;
}

/** What a launch still needs the user to choose (`contextNeeds`). */
export interface ContextNeeds {
  patient: boolean;
  encounter: boolean;
}

/**
 * Which context a standalone launch still needs the user to choose. `launch/patient`, or
 * `launch/encounter` (an encounter is always some patient's), needs a patient unless an EHR launch
 * named one or the user is a patient (`ownPatient`: their own record is the context);
 * `launch/encounter` needs an encounter unless the EHR launch named one. SMART 2.0 gives an app no
 * way to ask for a context optionally: one that asked for `launch/encounter` gets an encounter or
 * no token (the user denies); one that did not ask never sees the encounter step.
 */
export function contextNeeds(
  scope: string,
  user: { fhirUser?: string },
  launched: LaunchContext | undefined,
): ContextNeeds {
  const requested = scope.split(' ');
  const encounter = requested.includes('launch/encounter') && launched?.encounter === undefined;
  const own = user.fhirUser?.startsWith('Patient/') === true;
  const patient =
    (requested.includes('launch/patient') || encounter) && launched?.patient === undefined && !own;
  return { patient, encounter };
}

/**
 * The picker the consent page shows for what is chosen so far: the patient picker until a
 * patient is chosen, then the encounter picker; none when the launch needs no choice.
 * `params.patient` is a choice carried by the page's links, read as the user again.
 */
export async function pickerStep(
  patients: PatientDirectory,
  reader: RequestContext,
  step: { needs: ContextNeeds; fixedPatient: string | undefined; pageUrl: string; params: PickerParams },
): Promise<{ picker?: PatientPickerView | EncounterPickerView; continues?: boolean }> {
  const { needs, fixedPatient, pageUrl, params } = step;
  if (!needs.patient && !needs.encounter) return {};
  const patient = await readablePatient(patients, reader, fixedPatient ?? params.patient);
  if (needs.patient && patient === undefined) {
    return {
      picker: await patientPickerView(patients, reader, pageUrl, params),
      continues: needs.encounter,
    };
  }
  if (needs.encounter && patient !== undefined) {
    const picker = await encounterPickerView(patients, reader, pageUrl, patient, params);
    // A patient the EHR launch or the user's own record fixed cannot be swapped for another.
    return { picker: fixedPatient === undefined ? { ...picker, patientsUrl: pageUrl } : picker };
  }
  return {};
}

/**
 * The launch context a consent post settles: the EHR launch's, or what the user chose, each
 * choice read again as the user (a hand-made post names nothing the user may not read).
 * `next`: a patient was chosen and the encounter is still to choose; `retry`: a choice refused.
 */
export async function chosenContext(
  patients: PatientDirectory,
  reader: RequestContext,
  post: {
    needs: ContextNeeds;
    launched?: LaunchContext;
    ownPatient: string | undefined;
    form: Record<string, string>;
  },
): Promise<LaunchContext | { next: PickerParams } | { retry: { params: PickerParams; error: string } }> {
  const { needs, launched, form } = post;
  let patient = launched?.patient;
  if (needs.patient) {
    const chosen = await readablePatient(patients, reader, form.patient);
    if (chosen === undefined) return { retry: { params: {}, error: 'Choose a patient from the list.' } };
    patient = chosen.id;
  }
  let encounter = launched?.encounter;
  const about = patient ?? post.ownPatient;
  if (needs.encounter && about !== undefined) {
    // Choosing the patient posts no encounter field: the encounter picker comes next.
    if (form.encounter === undefined) return { next: { patient: about } };
    if (!(await readableEncounterOf(patients, reader, about, form.encounter))) {
      return { retry: { params: { patient: about }, error: 'Choose an encounter from the list.' } };
    }
    encounter = form.encounter;
  }
  return {
    ...(patient !== undefined ? { patient } : {}),
    ...(encounter !== undefined ? { encounter } : {}),
  };
}

/** The picker's query string (`name`, `cursor`, `patient`) as the page links carry it. */
export function pickerParams(query: unknown): PickerParams {
  if (!isRecord(query)) return {};
  const text = (key: string) => {
    const value = query[key];
    return typeof value === 'string' ? value : undefined;
  };
  const [name, cursor, patient] = [text('name'), text('cursor'), text('patient')];
  return {
    ...(name !== undefined ? { name } : {}),
    ...(cursor !== undefined ? { cursor } : {}),
    ...(patient !== undefined ? { patient } : {}),
  };
}

export async function patientPickerView(
  patients: PatientDirectory,
  reader: RequestContext,
  pageUrl: string,
  params: PickerParams,
): Promise<PatientPickerView> {
  const name = params.name?.trim().slice(0, 100) ?? '';
  const named: Record<string, string> = name === '' ? {} : { name };
  const found = await patients.patients(reader, { ...named, ...cursorOf(params) });
  return {
    kind: 'patient',
    choices: found.choices,
    searchUrl: pageUrl,
    ...named,
    ...paging(pageUrl, named, found, params.cursor),
  };
}

export async function encounterPickerView(
  patients: PatientDirectory,
  reader: RequestContext,
  pageUrl: string,
  patient: PatientChoice,
  params: PickerParams,
): Promise<EncounterPickerView> {
  const found = await patients.encounters(reader, patient.id, cursorOf(params));
  return {
    kind: 'encounter',
    patient,
    choices: found.choices,
    ...paging(pageUrl, { patient: patient.id }, found, params.cursor),
  };
}

/** The patient `id` as `reader` may read it, or `undefined` (malformed, unknown or hidden alike). */
export async function readablePatient(
  patients: PatientDirectory,
  reader: RequestContext,
  id: string | undefined,
): Promise<PatientChoice | undefined> {
  if (id === undefined || !ID.test(id)) return undefined;
  const found = await patients.readAs(reader, 'Patient', id);
  return found === undefined ? undefined : { id, name: displayName(found.name) };
}

/** Whether `reader` may read Encounter `id` and it is `patient`'s (its `subject`). */
export async function readableEncounterOf(
  patients: PatientDirectory,
  reader: RequestContext,
  patient: string,
  id: string | undefined,
): Promise<boolean> {
  if (id === undefined || !ID.test(id)) return false;
  const found = await patients.readAs(reader, 'Encounter', id);
  const subject = found?.subject;
  return (
    typeof subject === 'object' &&
    subject !== null &&
    'reference' in subject &&
    subject.reference === `Patient/${patient}`
  );
}

function cursorOf(params: PickerParams): { cursor?: string } {
  return params.cursor === undefined || params.cursor === '' ? {} : { cursor: params.cursor };
}

function paging(
  pageUrl: string,
  fixed: Record<string, string>,
  found: PickerPage,
  cursor: string | undefined,
): { nextUrl?: string; firstUrl?: string } {
  const url = (extra: Record<string, string>) => {
    const query = new URLSearchParams({ ...fixed, ...extra }).toString();
    return query === '' ? pageUrl : `${pageUrl}?${query}`;
  };
  return {
    ...(found.next !== undefined ? { nextUrl: url({ cursor: found.next }) } : {}),
    ...(cursor !== undefined && cursor !== '' ? { firstUrl: url({}) } : {}),
  };
}
