/**
 * What a patient's Consents say to one principal, read once per principal when its relationships
 * are resolved (relationship-snapshot.ts), never per row: the provision tree of each active Consent
 * that could name them becomes flat data — whole records denied, labels denied, scoped denials with
 * their exceptions, and a proxy's grants — which access-policy.ts compiles to SQL predicates.
 *
 * FHIR R4 (consent.html#Consent.provision): a provision is a rule; the provisions nested in it are
 * exceptions to it, of the opposite type. A rule applies while its `period` covers now (R4 has no
 * `Consent.period`: the top-level provision's period is the Consent's), to the actors it and every
 * rule above it name. So a deny whose scope is the conjunction of the conditions on its path, minus
 * its nested permits (each the conjunction of its own path), is exact at any depth: a deny nested
 * under such a permit is a new denial.
 *
 * Honoured: `type`, `actor.reference` (the role is not read), `class` (resource types),
 * `securityLabel`, `period`, nesting, and:
 * - `action` (consentaction): kept on the denial and its exceptions as the requests they apply to
 *   — reads for `access` and `use`, writes for `correct` (update, patch, delete) and `collect`
 *   (create); a rule without `action` applies to all, one whose actions are none of these to none
 *   (access-policy.ts picks them per request, as for `purpose`);
 * - `purpose`: kept on the denial and its exceptions, which then apply only to requests of a
 *   listed purpose of use (access-policy.ts picks them per request);
 * - `code`, `data` (`instance`, `related`, `dependents`), `dataPeriod`: conditions on the row,
 *   compiled by consent-rules.ts. `data` with meaning `authoredby` is not: a deny carrying only
 *   such data denies its whole scope (more than it says); a permit carrying it is not applied.
 * A deny that names no actor on any level of its path is an opt-out for everyone (`optOutRules`):
 * it applies to every relationship rule, not to a proxy's grant (docs/security.md).
 */

import {
  classesOf,
  codesOf,
  codingsOf,
  type DataPeriod,
  type DataReference,
  dataOf,
  dataPeriodOf,
  intersect,
  intersectData,
  intersectLabels,
  intersectPeriods,
  intersectPurposes,
  isObject,
  type Label,
  labelsOf,
  periodCovers,
  purposesOf,
  referencesOf,
} from './provision-elements.ts';

export type { DataPeriod, DataReference, Label } from './provision-elements.ts';
export { periodCovers } from './provision-elements.ts';

/**
 * A scope of data: each condition present narrows it (`undefined`: no condition) — resource types,
 * labels, codes (the type's `code` parameter), resources (`data`), clinical time (`dataPeriod`);
 * `purposes`, a condition on the request: the purposes of use it applies to.
 */
export interface DataScope {
  types?: readonly string[];
  labels?: readonly Label[];
  codes?: readonly Label[];
  data?: readonly DataReference[];
  dataPeriod?: DataPeriod;
  purposes?: readonly string[];
  /** A condition on the request: the kinds of request (`ConsentAction`) it applies to. */
  actions?: readonly ConsentAction[];
}

/**
 * What a request does, as consentaction names it: `read` stands for `access` and `use`, `correct`
 * for updating, patching or deleting what is there, `collect` for creating.
 */
export type ConsentAction = 'read' | 'correct' | 'collect';

/** Data of one patient denied to the principal, except what `except` permits again. */
export interface ScopedDenial extends DataScope {
  patient: string;
  except: readonly DataScope[];
}

/** What Consents deny a principal. */
export interface ConsentDenials {
  /** Patients who deny the principal their whole record. */
  deniedPatients: string[];
  /** (patient, label) the principal is denied, with no exception. */
  deniedLabels: (Label & { patient: string })[];
  /** Every other denial: by resource type, code, data, period, purpose, with exceptions. */
  scopedDenials: ScopedDenial[];
}

export interface ConsentRules extends ConsentDenials {
  /** A proxy's grants: patient → resource types (`*`: all). */
  grants: Map<string, Set<string>>;
}

/** One active Consent as the snapshot reads it. */
export interface StoredConsent {
  patient: string;
  provision?: unknown;
}

/** The conditions of a path of provisions, conjoined. */
interface PathScope extends DataScope {
  /** Some level on the path named one of the principal's actors. */
  named: boolean;
}

/** consentaction codes as the requests they stand for (consent.html#Consent.provision.action). */
const ACTIONS: ReadonlyMap<string, ConsentAction> = new Map([
  ['access', 'read'],
  ['use', 'read'],
  ['correct', 'correct'],
  ['collect', 'collect'],
]);

/** The requests a rule's `action` applies to; `undefined` when it has none (all of them). */
function actionsOf(node: Record<string, unknown>): ConsentAction[] | undefined {
  if (node.action === undefined) return undefined;
  const actions = codingsOf(node.action).flatMap((coding) => ACTIONS.get(coding.code) ?? []);
  return [...new Set(actions)];
}

/** A permit the decision can apply as it says: no `data` it does not compile. */
function applicablePermit(node: Record<string, unknown>): boolean {
  return !hasUncompiledData(node);
}

/**
 * A proxy's grant is a set of resource types per patient (access-policy.ts `proxyRule`): a
 * top-level permit that narrows it further (purpose, code, data, dataPeriod) is not applied,
 * rather than granted wider than it says.
 */
function applicableGrant(node: Record<string, unknown>): boolean {
  const narrower = ['purpose', 'code', 'data', 'dataPeriod'].some((element) => node[element] !== undefined);
  return !narrower && applicablePermit(node) && coversReading(node);
}

function hasUncompiledData(node: Record<string, unknown>): boolean {
  return Array.isArray(node.data) && node.data.length > dataOf(node).length;
}

/** No `action`, or one of its codes is a read (`access`, `use`). */
function coversReading(node: Record<string, unknown>): boolean {
  return actionsOf(node)?.includes('read') ?? true;
}

/**
 * The rules of `consents` for a principal acting as `actors` (`Type/id`: their Practitioner, its
 * active PractitionerRoles and CareTeams, their Organization); `proxy`, when the principal is a
 * RelatedPerson, whose root `permit` naming them becomes a grant.
 */
export function consentRules(
  consents: readonly StoredConsent[],
  actors: ReadonlySet<string>,
  now: Date,
  proxy?: string,
): ConsentRules {
  const rules: ConsentRules = { deniedPatients: [], deniedLabels: [], scopedDenials: [], grants: new Map() };
  for (const consent of consents) {
    if (!isObject(consent.provision)) continue;
    const root = consent.provision;
    const type = root.type === 'deny' ? 'deny' : 'permit';
    visit(root, type, { named: false }, { consent, actors, now, rules, everyone: false });
    if (proxy !== undefined && type === 'permit' && periodCovers(root.period, now) && applicableGrant(root)) {
      if (referencesOf(root.actor).includes(proxy)) grant(rules.grants, consent.patient, classesOf(root));
    }
  }
  return rules;
}

/**
 * The opt-outs for everyone among `consents` (those whose top-level provision names no actor):
 * their denies whose path names no actor, for a principal acting as `actors` (an exception
 * naming one of them is theirs). The denies that do name an actor are `consentRules`' own.
 */
export function optOutRules(
  consents: readonly StoredConsent[],
  actors: ReadonlySet<string>,
  now: Date,
): ConsentDenials {
  const rules: ConsentRules = { deniedPatients: [], deniedLabels: [], scopedDenials: [], grants: new Map() };
  for (const consent of consents) {
    if (!isObject(consent.provision)) continue;
    const root = consent.provision;
    visit(
      root,
      root.type === 'deny' ? 'deny' : 'permit',
      { named: false },
      {
        consent,
        actors,
        now,
        rules,
        everyone: true,
      },
    );
  }
  return {
    deniedPatients: rules.deniedPatients,
    deniedLabels: rules.deniedLabels,
    scopedDenials: rules.scopedDenials,
  };
}

interface Walk {
  consent: StoredConsent;
  actors: ReadonlySet<string>;
  now: Date;
  rules: ConsentRules;
  /** Record the denies that name no actor (opt-outs) instead of those that name the principal. */
  everyone: boolean;
}

function visit(node: Record<string, unknown>, type: 'permit' | 'deny', above: PathScope, walk: Walk): void {
  const scope = applying(above, node, walk);
  if (scope === undefined) return;
  const children = nested(node);
  if (type === 'permit') {
    // A permit says nothing to a relationship rule; the denies nested in it do.
    for (const child of children) if (child.type !== 'permit') visit(child, 'deny', scope, walk);
    return;
  }
  const exceptions: DataScope[] = [];
  for (const child of children) {
    // A deny nested in a deny adds nothing its parent does not already deny.
    if (child.type === 'deny') continue;
    const permitted = applying(scope, child, walk);
    if (permitted === undefined) continue;
    if (applicablePermit(child)) exceptions.push(dataScope(permitted));
    // The exception to the exception denies again.
    for (const grandchild of nested(child)) {
      if (grandchild.type !== 'permit') visit(grandchild, 'deny', permitted, walk);
    }
  }
  if (scope.named !== walk.everyone) record(walk, scope, exceptions);
}

/** `node`'s conditions added to the path's, when its period covers now and they can apply. */
function applying(above: PathScope, node: Record<string, unknown>, walk: Walk): PathScope | undefined {
  return periodCovers(node.period, walk.now) ? narrow(above, node, walk.actors) : undefined;
}

function nested(node: Record<string, unknown>): Record<string, unknown>[] {
  return Array.isArray(node.provision) ? node.provision.filter(isObject) : [];
}

/** The path's conditions with `node`'s own; `undefined` when they cannot apply to the principal. */
function narrow(
  above: PathScope,
  node: Record<string, unknown>,
  actors: ReadonlySet<string>,
): PathScope | undefined {
  const named = referencesOf(node.actor);
  if (named.length > 0 && !named.some((reference) => actors.has(reference))) return undefined;
  // A rule about no action the decision judges (`disclose`…) says nothing to it.
  const actions = intersectActions(above.actions, actionsOf(node));
  const classes = classesOf(node);
  const types = classes.includes('*') ? above.types : intersect(above.types, classes);
  const labels = intersectLabels(above.labels, labelsOf(node.securityLabel));
  const codes = intersectLabels(above.codes, codesOf(node.code));
  const ownData = dataOf(node);
  const data = intersectData(above.data, ownData.length > 0 ? ownData : undefined);
  const purposes = intersectPurposes(above.purposes, purposesOf(node.purpose));
  const dataPeriod = intersectPeriods(above.dataPeriod, dataPeriodOf(node.dataPeriod));
  if ([types, labels, codes, data, purposes, actions].some((condition) => condition?.length === 0))
    return undefined;
  if (dataPeriod === null) return undefined;
  return {
    named: above.named || named.length > 0,
    ...(types !== undefined ? { types } : {}),
    ...(labels !== undefined ? { labels } : {}),
    ...(codes !== undefined ? { codes } : {}),
    ...(data !== undefined ? { data } : {}),
    ...(dataPeriod !== undefined ? { dataPeriod } : {}),
    ...(purposes !== undefined ? { purposes } : {}),
    ...(actions !== undefined ? { actions } : {}),
  };
}

function intersectActions(
  above: readonly ConsentAction[] | undefined,
  own: readonly ConsentAction[] | undefined,
): readonly ConsentAction[] | undefined {
  if (above === undefined || own === undefined) return above ?? own;
  return above.filter((action) => own.includes(action));
}

function record(walk: Walk, scope: PathScope, except: readonly DataScope[]): void {
  const { patient } = walk.consent;
  const { rules } = walk;
  // A permit again of everything the deny covers (no condition) cancels it.
  if (except.some((exception) => Object.keys(exception).length === 0)) return;
  const onlyLabels = Object.keys(dataScope(scope)).every((condition) => condition === 'labels');
  if (except.length === 0 && onlyLabels) {
    if (scope.labels === undefined) rules.deniedPatients.push(patient);
    else for (const label of scope.labels) rules.deniedLabels.push({ patient, ...label });
    return;
  }
  rules.scopedDenials.push({ patient, ...dataScope(scope), except });
}

function dataScope(scope: PathScope): DataScope {
  const { named: _named, ...conditions } = scope;
  return conditions;
}

function grant(grants: Map<string, Set<string>>, patient: string, classes: readonly string[]): void {
  const types = grants.get(patient) ?? new Set<string>();
  for (const type of classes) types.add(type);
  grants.set(patient, types);
}
