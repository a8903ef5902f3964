/**
 * One walk of a resource against compiled profiles: element cardinality under a profile, types
 * allowed by the profile, fixed/pattern values, slicing, invariants, reference targets,
 * extensions and the resources nested inside. JSON form, primitive formats and base cardinality
 * are the structural validator's job (structure.ts) and are not repeated here. Bindings are
 * collected during the walk and checked afterwards, asynchronously, by the caller.
 */
import type { IssueSeverity } from '../../outcome.ts';
import { primitiveExtensionsKey } from '../../primitive-extensions-key.ts';
import type { BindingCoding } from '../binding-checker.ts';
import { checkAttachmentSize } from './attachment-size.ts';
import { checkBundleRules } from './bundle-rules.ts';
import type { CompiledElement, CompiledProfile, PropertyDefinition } from './compiled-profile.ts';
import { matchesSlice, referencedType } from './discriminator.ts';
import { describeValue, exactlyEqual, matchesPattern } from './fixed-pattern.ts';
import { evaluateInvariant } from './invariants.ts';
import type { ProfileBinding, ProfileType } from './profile-definition.ts';
import { CORE_PREFIX, type ProfileRegistry } from './profile-registry.ts';
import { ValidationIssues } from './validation-issues.ts';

export interface PendingBinding {
  binding: ProfileBinding & { valueSet: string };
  codings: BindingCoding[];
  /** A CodeableConcept passes when any of its codings is in the value set. */
  anyOf: boolean;
  expression: string;
}

export interface WalkOptions {
  /** Severity for an extension whose definition is unknown; a modifierExtension is always an error. */
  unknownExtension: 'warning' | 'error';
  /** URL prefixes whose unknown extensions are accepted without an issue (a partner's namespace). */
  allowedExtensionDomains: readonly string[];
  /** Collect bindings for checking (off while testing a slice's `profile` discriminator). */
  collectBindings: boolean;
}

interface ResourceScope {
  resource: Record<string, unknown>;
  root: Record<string, unknown>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const CODED_TYPES: ReadonlySet<string> = new Set(['code', 'Coding', 'CodeableConcept', 'string', 'uri']);
const MAX_DEPTH = 64;

interface Item {
  value: unknown;
  sibling: unknown;
  type: ProfileType | undefined;
  path: string;
  /** Counted for cardinality but already reported as a type the profile does not allow. */
  disallowed?: boolean;
}

export class ProfileWalk {
  readonly issues = new ValidationIssues();
  readonly bindings: PendingBinding[] = [];

  constructor(
    private readonly registry: ProfileRegistry,
    private readonly options: WalkOptions,
  ) {}

  /** A resource against its base definition, the profiles it declares in meta.profile and `extra`. */
  resource(
    value: Record<string, unknown>,
    path: string,
    root: Record<string, unknown>,
    extra: readonly string[],
    depth = 0,
  ): void {
    const type = value.resourceType;
    if (typeof type !== 'string' || depth > MAX_DEPTH) return;
    const base = this.registry.baseProfile(type);
    if (base === undefined) return;
    const scope = { resource: value, root };
    this.against(value, base, path, scope, depth);
    if (type === 'Bundle') checkBundleRules(value, path, this.issues);
    const meta = isObject(value.meta) ? value.meta : {};
    const declared = Array.isArray(meta.profile)
      ? meta.profile.filter((p): p is string => typeof p === 'string')
      : [];
    for (const url of new Set([...declared, ...extra])) {
      const profile = this.registry.profile(url);
      if (profile === undefined) {
        this.issues.add(
          'warning',
          'not-found',
          path,
          `Profile ${url} is not known here, so ${type} was not checked against it`,
        );
      } else if (profile.definition.type !== type) {
        this.issues.error('invalid', path, `Profile ${url} is for ${profile.definition.type}, not ${type}`);
      } else if (profile !== base) {
        this.against(value, profile, path, scope, depth);
      }
    }
  }

  private against(
    value: Record<string, unknown>,
    profile: CompiledProfile,
    path: string,
    scope: ResourceScope,
    depth: number,
  ): void {
    this.node(
      value,
      undefined,
      profile.root,
      { code: profile.definition.type, profiles: [], targetProfiles: [] },
      path,
      scope,
      depth,
    );
  }

  /** One value (primitive or object) against the element that defines it. */
  private node(
    value: unknown,
    sibling: unknown,
    element: CompiledElement,
    type: ProfileType | undefined,
    path: string,
    scope: ResourceScope,
    depth: number,
  ): void {
    if (depth > MAX_DEPTH) return;
    const rule = element.definition;
    if (rule.fixed !== undefined && value !== undefined && !exactlyEqual(value, rule.fixed)) {
      this.issues.error(
        'value',
        path,
        `Value is ${describeValue(value)} but must be fixed to ${describeValue(rule.fixed)} (${rule.id})`,
      );
    }
    if (rule.pattern !== undefined && value !== undefined && !matchesPattern(value, rule.pattern)) {
      this.issues.error(
        'value',
        path,
        `Value ${describeValue(value)} does not match the pattern ${describeValue(rule.pattern)} (${rule.id})`,
      );
    }
    const code = type?.code;
    if (rule.binding?.valueSet !== undefined && code !== undefined && CODED_TYPES.has(code)) {
      this.collectBinding({ ...rule.binding, valueSet: rule.binding.valueSet }, value, code, path);
    }
    if (isObject(value)) {
      this.invariants(element, rule.path, value, path, scope);
      if (code === 'Reference') this.referenceTarget(value, type, path, scope);
      if (code === 'Coding') this.codingSystem(value, path);
      if (code === 'Attachment') checkAttachmentSize(value, path, this.issues);
    }
    if (code !== undefined && code.charCodeAt(0) >= 0x61) {
      if (value !== undefined && rule.constraints.length > 1)
        this.primitiveInvariants(element, value, path, scope);
      // A primitive: its id and extensions live in the `_name` sibling (json.html#primitive).
      const primitive = this.registry.baseProfile(code);
      if (isObject(sibling) && primitive !== undefined) {
        this.children(sibling, primitive.root, path, [rule.path, code], scope, depth + 1);
      }
      return;
    }
    if (!isObject(value)) return;
    if (
      typeof value.resourceType === 'string' &&
      (code === 'Resource' || code === value.resourceType || code === undefined) &&
      element !== element.profile.root
    ) {
      // %rootResource is the container for a contained resource; a Bundle entry is its own root.
      this.resource(value, path, element.name === 'contained' ? scope.root : value, [], depth + 1);
      return;
    }
    if (typeof value.resourceType === 'string' && element === element.profile.root) {
      this.children(
        value,
        element,
        path,
        [rule.path, value.resourceType, 'DomainResource', 'Resource'],
        scope,
        depth + 1,
      );
      return;
    }
    this.complex(value, element, type, path, scope, depth);
  }

  private complex(
    value: Record<string, unknown>,
    element: CompiledElement,
    type: ProfileType | undefined,
    path: string,
    scope: ResourceScope,
    depth: number,
  ): void {
    const code = type?.code ?? 'Element';
    const typeBase = this.registry.baseProfile(code);
    let source = element;
    if (element.children.length === 0 && element.definition.contentReference !== undefined) {
      source = element.profile.byId.get(element.definition.contentReference.replace(/^#/, '')) ?? element;
    }
    const isDatatype = source.children.length === 0 && typeBase !== undefined && code !== 'BackboneElement';
    if (isDatatype) {
      this.invariants(typeBase.root, code, value, path, scope);
      source = typeBase.root;
    }
    this.children(
      value,
      source,
      path,
      [element.definition.path, code, source.definition.path],
      scope,
      depth + 1,
      isDatatype ? undefined : typeBase?.root,
    );
    for (const profileUrl of type?.profiles ?? []) {
      const profile = this.registry.profile(profileUrl);
      if (profile === undefined) {
        if (code !== 'Extension')
          this.issues.add(
            'warning',
            'not-found',
            path,
            `Profile ${profileUrl} is not known here; not checked`,
          );
      } else if (profile.root !== element) {
        this.complex(
          value,
          profile.root,
          { code: profile.definition.type, profiles: [], targetProfiles: [] },
          path,
          scope,
          depth + 1,
        );
      }
    }
  }

  /**
   * Invariants on a primitive (txt-1 `htmlChecks()` on Narrative.div): fhirpath.js needs the
   * element's type, which it knows when navigating from the parent, so the expression is
   * evaluated as `name.all(expression)` on a one-property stand-in for the parent.
   */
  private primitiveInvariants(
    element: CompiledElement,
    value: unknown,
    path: string,
    scope: ResourceScope,
  ): void {
    const rule = element.definition;
    const parentPath = rule.path.slice(0, rule.path.lastIndexOf('.'));
    if (parentPath.length === 0 || element.isChoice) return;
    // fhirpath.js's htmlChecks() refuses every prefixed attribute, but XHTML's xml:lang and
    // xml:space are what HTML 4's lang means in XML, and the spec's own narratives use them.
    const checked =
      typeof value === 'string'
        ? value.replace(/\sxml:(?:lang|space)\s*=\s*(?:"[^"]*"|'[^']*')/g, '')
        : value;
    const holder = { [element.name]: checked };
    for (const constraint of rule.constraints) {
      if (constraint.expression === undefined || constraint.key === 'ele-1') continue;
      const wrapped = { ...constraint, expression: `\`${element.name}\`.all(${constraint.expression})` };
      const outcome = evaluateInvariant(wrapped, {
        node: holder,
        base: parentPath,
        resource: scope.resource,
        rootResource: scope.root,
      });
      if (outcome === 'fail')
        this.issues.add(
          constraint.severity,
          'invariant',
          path,
          `Constraint failed: ${constraint.key}: '${constraint.human}'`,
        );
    }
  }

  private invariants(
    element: CompiledElement,
    base: string,
    value: Record<string, unknown>,
    path: string,
    scope: ResourceScope,
  ): void {
    for (const constraint of element.definition.constraints) {
      // Narrative is for the container: contained resources SHOULD NOT carry it (narrative.html#css).
      if (constraint.key === 'dom-6' && scope.resource !== scope.root) continue;
      const outcome = evaluateInvariant(constraint, {
        node: value,
        base,
        resource: scope.resource,
        rootResource: scope.root,
      });
      if (outcome === 'pass') continue;
      if (outcome === 'fail') {
        this.issues.add(
          constraint.severity,
          'invariant',
          path,
          `Constraint failed: ${constraint.key}: '${constraint.human}'`,
        );
      } else {
        this.issues.add(
          'information',
          'invariant',
          path,
          `Constraint ${constraint.key} could not be evaluated: ${outcome.error}`,
        );
      }
    }
  }

  /** The JSON properties of an object against the children `source` defines (`fallback`: the base type, for names a profile left alone). */
  private children(
    value: Record<string, unknown>,
    source: CompiledElement,
    path: string,
    hostContexts: readonly string[],
    scope: ResourceScope,
    depth: number,
    fallback?: CompiledElement,
  ): void {
    const grouped = new Map<CompiledElement, Item[]>();
    for (const key of Object.keys(value)) {
      if (key === 'resourceType' || key === 'fhir_comments') continue;
      const isSibling = key.charCodeAt(0) === 0x5f;
      const name = isSibling ? key.slice(1) : key;
      if (isSibling && value[name] !== undefined) continue;
      let property: PropertyDefinition | undefined = source.properties.get(name);
      if (property === undefined && fallback !== undefined) {
        property = fallback.properties.get(name);
        // The profile lists the element but not this type of it (value[x] narrowed to url).
        const narrowed =
          property === undefined ? undefined : source.children.find((c) => c.name === property?.element.name);
        if (narrowed !== undefined) {
          this.notAllowed(name, source, path);
          const items = grouped.get(narrowed) ?? [];
          grouped.set(narrowed, items);
          items.push({
            value: undefined,
            sibling: undefined,
            type: undefined,
            path: `${path}.${name}`,
            disallowed: true,
          });
          continue;
        }
      }
      if (property === undefined) {
        if (
          source.profile.isConstraint &&
          this.registry.baseProfile(source.profile.definition.type) !== undefined
        ) {
          this.notAllowed(name, source, path);
        }
        continue;
      }
      const items = grouped.get(property.element) ?? [];
      grouped.set(property.element, items);
      const data = isSibling ? undefined : value[key];
      const siblings = value[primitiveExtensionsKey(name)];
      if (Array.isArray(data) || Array.isArray(siblings)) {
        const count = Math.max(
          Array.isArray(data) ? data.length : 0,
          Array.isArray(siblings) ? siblings.length : 0,
        );
        for (let i = 0; i < count; i++) {
          items.push({
            value: Array.isArray(data) ? (data[i] ?? undefined) : undefined,
            sibling: Array.isArray(siblings) ? siblings[i] : undefined,
            type: property.type,
            path: `${path}.${name}[${i}]`,
          });
        }
      } else {
        items.push({ value: data, sibling: siblings, type: property.type, path: `${path}.${name}` });
      }
    }
    for (const child of source.children) {
      const items = grouped.get(child);
      // An absent element of a base definition has nothing to check: no cardinality (the
      // structural pass did that), no slices, no items.
      if (items === undefined && !child.profile.isConstraint && child.slices.length === 0) continue;
      this.childItems(child, items ?? [], path, hostContexts, scope, depth);
    }
    if (fallback !== undefined) {
      for (const [child, items] of grouped)
        if (child.profile !== source.profile) this.childItems(child, items, path, hostContexts, scope, depth);
    }
  }

  private notAllowed(name: string, source: CompiledElement, path: string): void {
    const choice = source.children.find(
      (c) => c.isChoice && name.startsWith(c.name) && name.length > c.name.length,
    );
    this.issues.error(
      'structure',
      `${path}.${name}`,
      choice
        ? `${name} is not a type allowed for ${choice.definition.path} by profile ${source.profile.definition.url} (allowed: ${choice.definition.types.map((t) => t.code).join(', ')})`
        : `${name} is not allowed by profile ${source.profile.definition.url}`,
    );
  }

  private childItems(
    child: CompiledElement,
    items: Item[],
    path: string,
    hostContexts: readonly string[],
    scope: ResourceScope,
    depth: number,
  ): void {
    const rule = child.definition;
    if (child.profile.isConstraint) {
      if (items.length < rule.min) {
        this.issues.error(
          'required',
          path,
          `${rule.path}: minimum required = ${rule.min}, but only found ${items.length} (from ${child.profile.definition.url})`,
        );
      } else if (items.length > rule.max) {
        this.issues.error(
          'structure',
          path,
          `${rule.path}: max allowed = ${rule.max}, but found ${items.length} (from ${child.profile.definition.url})`,
        );
      }
    }
    const sliced =
      rule.slicing !== undefined && child.slices.length > 0 && items.length + child.slices.length > 0;
    const assigned = sliced ? this.assignSlices(child, items, path) : items.map(() => undefined);
    const isExtension = child.name === 'extension' || child.name === 'modifierExtension';
    items.forEach((item, index) => {
      if (item.disallowed === true) return;
      const slice = assigned[index];
      const choiceSlice = child.isChoice
        ? child.slices.find((s) => item.path.endsWith(`.${s.definition.sliceName}`))
        : undefined;
      if (slice !== undefined)
        this.node(
          item.value,
          item.sibling,
          slice,
          slice.definition.types[0] ?? item.type,
          item.path,
          scope,
          depth,
        );
      else if (isExtension) this.extension(item, child, hostContexts, scope, depth);
      else this.node(item.value, item.sibling, child, item.type, item.path, scope, depth);
      if (choiceSlice !== undefined)
        this.node(item.value, item.sibling, choiceSlice, item.type, item.path, scope, depth);
    });
  }

  private assignSlices(child: CompiledElement, items: Item[], path: string): (CompiledElement | undefined)[] {
    const slicing = child.definition.slicing;
    if (slicing === undefined) return [];
    const discriminators = slicing.discriminators;
    const scope = {
      registry: this.registry,
      conforms: (value: unknown, url: string) => this.conforms(value, url),
    };
    const assigned = items.map((item) =>
      discriminators.length === 0
        ? undefined
        : child.slices.find((slice) =>
            matchesSlice(
              { value: item.value, ...(child.isChoice && item.type ? { type: item.type.code } : {}) },
              slice,
              discriminators,
              scope,
            ),
          ),
    );
    const where = `${path}.${child.name}`;
    for (const slice of child.slices) {
      const count = assigned.filter((s) => s === slice).length;
      const { min, max, sliceName } = slice.definition;
      if (count < min)
        this.issues.error(
          'required',
          path,
          `Slice '${child.definition.path}:${sliceName}': minimum required = ${min}, but only found ${count}`,
        );
      if (count > max)
        this.issues.error(
          'structure',
          where,
          `Slice '${child.definition.path}:${sliceName}': max allowed = ${max}, but found ${count}`,
        );
    }
    let lastMatched = -1;
    let lastSliceIndex = -1;
    assigned.forEach((slice, index) => {
      const item = items[index];
      if (item === undefined) return;
      if (slice === undefined) {
        if (slicing.rules === 'closed')
          this.issues.error(
            'structure',
            item.path,
            `This element does not match any known slice of ${child.definition.path}, and slicing is closed`,
          );
        return;
      }
      const sliceIndex = child.slices.indexOf(slice);
      if (slicing.ordered && sliceIndex < lastSliceIndex)
        this.issues.error('structure', item.path, `Slices of ${child.definition.path} are out of order`);
      lastSliceIndex = Math.max(lastSliceIndex, sliceIndex);
      lastMatched = index;
    });
    if (slicing.rules === 'openAtEnd') {
      assigned.forEach((slice, index) => {
        if (slice === undefined && index < lastMatched) {
          this.issues.error(
            'structure',
            items[index]?.path ?? where,
            `Unmatched items of ${child.definition.path} must come after the slices (openAtEnd)`,
          );
        }
      });
    }
    return assigned;
  }

  /** Whether `value` conforms to a profile, errors only, bindings aside (a `profile` discriminator). */
  private conforms(value: unknown, url: string): boolean {
    const profile = this.registry.profile(url);
    if (profile === undefined || !isObject(value)) return false;
    const probe = new ProfileWalk(this.registry, { ...this.options, collectBindings: false });
    if (typeof value.resourceType === 'string') probe.resource(value, value.resourceType, value, [url]);
    else
      probe.complex(
        value,
        profile.root,
        { code: profile.definition.type, profiles: [], targetProfiles: [] },
        '$',
        { resource: value, root: value },
        0,
      );
    return probe.issues.errorCount === 0;
  }

  private extension(
    item: Item,
    child: CompiledElement,
    hostContexts: readonly string[],
    scope: ResourceScope,
    depth: number,
  ): void {
    const value = item.value;
    if (!isObject(value)) return;
    const url = typeof value.url === 'string' ? value.url : undefined;
    const definition = url === undefined ? undefined : this.registry.profile(url);
    // A relative url names a part of the complex extension around it, which checks it.
    if (url?.includes('|') === true) {
      this.issues.error('value', item.path, `The extension URL must not contain a version (${url})`);
    }
    const allowedDomain =
      url !== undefined && this.options.allowedExtensionDomains.some((d) => url.startsWith(d));
    if (url !== undefined && definition === undefined && url.includes(':') && !allowedDomain) {
      const severity: IssueSeverity =
        child.name === 'modifierExtension' ? 'error' : this.options.unknownExtension;
      this.issues.add(
        severity,
        'extension',
        item.path,
        `The extension ${url} could not be found so is not allowed here`,
      );
    }
    if (definition === undefined) {
      this.node(value, undefined, child, item.type, item.path, scope, depth);
      return;
    }
    this.extensionContext(definition, hostContexts, item.path);
    this.invariants(child, child.definition.path, value, item.path, scope);
    const type = { code: 'Extension', profiles: [], targetProfiles: [] };
    this.complex(value, definition.root, type, item.path, scope, depth + 1);
  }

  /** structuredefinition-definitions.html#StructureDefinition.context: where an extension may appear. */
  private extensionContext(definition: CompiledProfile, hostContexts: readonly string[], path: string): void {
    const contexts = definition.definition.contexts;
    if (contexts.length === 0) return;
    const allowed = contexts.some((context) => {
      if (context.type === 'fhirpath') return true;
      const expression = context.expression;
      if (expression === 'Element' || expression === 'Base') return true;
      return hostContexts.some(
        (host) => host === expression || (expression.startsWith(CORE_PREFIX) && host === expression),
      );
    });
    if (!allowed) {
      // The spec's own publication-tooling extensions (structuredefinition-fhir-type on
      // ElementDefinition.type, -normative-version on any conformance resource) appear outside
      // their declared contexts throughout the R4 definitions that every IG copies: a warning.
      const tooling = definition.definition.url.startsWith(`${CORE_PREFIX}structuredefinition-`);
      this.issues.add(
        tooling ? 'warning' : 'error',
        'structure',
        path,
        `The extension ${definition.definition.url} is not allowed to be used here (allowed: ${contexts.map((c) => c.expression).join(', ')}; this element is ${hostContexts.filter((h) => h.length > 0).join(', ')})`,
      );
    }
  }

  /** ElementDefinition.type.targetProfile: the resource type the reference points at must be allowed. */
  private referenceTarget(
    value: Record<string, unknown>,
    type: ProfileType | undefined,
    path: string,
    scope: ResourceScope,
  ): void {
    const targets = type?.targetProfiles ?? [];
    if (targets.length === 0) return;
    const allowed = new Set(
      targets.map((url) => this.registry.definition(url)?.type ?? url.slice(url.lastIndexOf('/') + 1)),
    );
    if (allowed.has('Resource') || allowed.has('DomainResource')) return;
    let target = referencedType(value);
    if (target === undefined && typeof value.reference === 'string' && value.reference.startsWith('#')) {
      const id = value.reference.slice(1);
      const contained = Array.isArray(scope.root.contained) ? scope.root.contained : [];
      const found = contained.find((c: unknown) => isObject(c) && c.id === id);
      target = isObject(found) && typeof found.resourceType === 'string' ? found.resourceType : undefined;
    }
    if (target !== undefined && !allowed.has(target)) {
      this.issues.error(
        'structure',
        path,
        `The type '${target}' of the reference is not a valid target for this element (must be one of ${[...allowed].join(', ')})`,
      );
    }
  }

  /** datatypes.html#Coding: `system` is the absolute URI of a code system, not of a value set. */
  private codingSystem(value: Record<string, unknown>, path: string): void {
    const system = value.system;
    if (typeof system !== 'string') return;
    if (!/^[A-Za-z][A-Za-z0-9+.-]*:/.test(system)) {
      this.issues.error(
        'invalid',
        `${path}.system`,
        `Coding.system must be an absolute reference, not a local reference (${system})`,
      );
    } else if (system.startsWith('http://hl7.org/fhir/ValueSet/')) {
      this.issues.error(
        'invalid',
        `${path}.system`,
        `The Coding references a value set, not a code system ('${system}')`,
      );
    }
  }

  private collectBinding(
    binding: PendingBinding['binding'],
    value: unknown,
    code: string,
    path: string,
  ): void {
    if (
      !this.options.collectBindings ||
      (binding.strength !== 'required' && binding.strength !== 'extensible')
    )
      return;
    if (typeof value === 'string') {
      this.bindings.push({ binding, codings: [{ code: value }], anyOf: false, expression: path });
    } else if (isObject(value) && code === 'Coding') {
      if (typeof value.code === 'string')
        this.bindings.push({ binding, codings: [codingOf(value)], anyOf: false, expression: path });
    } else if (isObject(value) && code === 'CodeableConcept' && Array.isArray(value.coding)) {
      const codings = value.coding
        .filter((c: unknown): c is Record<string, unknown> => isObject(c) && typeof c.code === 'string')
        .map(codingOf);
      if (codings.length > 0) this.bindings.push({ binding, codings, anyOf: true, expression: path });
    }
  }
}

function codingOf(value: Record<string, unknown>): BindingCoding {
  return {
    code: String(value.code),
    ...(typeof value.system === 'string' ? { system: value.system } : {}),
    ...(typeof value.version === 'string' ? { version: value.version } : {}),
    ...(typeof value.display === 'string' ? { display: value.display } : {}),
  };
}
