/**
 * SQL built only through this tag (STYLE.md, after porsager/postgres): every interpolated value
 * becomes a `$n` parameter, so a value can never change the shape of a statement. Fragments nest
 * (`sql\`… ${sql\`…\`} …\``) and are renumbered when rendered; identifiers go through `identifier()`,
 * which accepts only plain lower-case names.
 */

/** What the drivers can bind. `undefined` is deliberately absent: write `null`. */
export type SqlValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | readonly (string | number | boolean | null)[];

class Identifier {
  constructor(readonly quoted: string) {}
}

class Parameter {
  constructor(readonly value: SqlValue) {}
}

type Part = string | Parameter | Identifier;

export class Sql {
  /**
   * @param parts The literal text, parameters and identifiers in order; nested fragments inlined.
   * @param reusable The adapter may keep a prepared statement for this text (see `prepared`).
   * @param genericPlan The prepared statement's plan does not depend on its values (see `planOnce`).
   */
  constructor(
    readonly parts: readonly Part[],
    readonly reusable = false,
    readonly genericPlan = false,
  ) {}

  /** Text with `$1…$n` placeholders and the values they stand for, ready for the driver. */
  toQuery(): { text: string; values: SqlValue[] } {
    const values: SqlValue[] = [];
    let text = '';
    for (const part of this.parts) {
      if (typeof part === 'string') text += part;
      else if (part instanceof Identifier) text += part.quoted;
      else {
        values.push(part.value);
        text += `$${values.length}`;
      }
    }
    return { text, values };
  }

  get text(): string {
    return this.toQuery().text;
  }

  get values(): SqlValue[] {
    return this.toQuery().values;
  }
}

export type SqlInterpolation = SqlValue | Sql | Identifier;

export function sql(strings: TemplateStringsArray, ...interpolations: SqlInterpolation[]): Sql {
  const parts: Part[] = [];
  strings.forEach((literal, index) => {
    parts.push(literal);
    if (index >= interpolations.length) return;
    const interpolation: unknown = interpolations[index];
    if (interpolation instanceof Sql) parts.push(...interpolation.parts);
    else if (interpolation instanceof Identifier) parts.push(interpolation);
    else if (isSqlValue(interpolation)) parts.push(new Parameter(interpolation));
    // Only reachable past the type checker (an `undefined` from untyped data): fail, never drop it.
    else throw new TypeError(`Cannot bind ${typeof interpolation} as a SQL parameter after: ${literal}`);
  });
  return new Sql(parts);
}

function isSqlValue(value: unknown): value is SqlValue {
  if (value === null || Array.isArray(value)) return true;
  return ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
}

const PLAIN_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** A schema/table name as a quoted identifier; only plain names are accepted, never user input. */
export function identifier(name: string): Identifier {
  if (!PLAIN_IDENTIFIER.test(name)) throw new Error(`Not a plain SQL identifier: ${JSON.stringify(name)}`);
  return new Identifier(`"${name}"`);
}

export function isPlainIdentifier(name: string): boolean {
  return PLAIN_IDENTIFIER.test(name);
}

/** Fragments joined by a separator (`sql.join(conditions, ' and ')`); empty input gives an empty fragment. */
export function joinSql(fragments: readonly Sql[], separator: string): Sql {
  const parts: Part[] = [];
  fragments.forEach((fragment, index) => {
    if (index > 0) parts.push(separator);
    parts.push(...fragment.parts);
  });
  return new Sql(parts);
}

export const emptySql = new Sql([]);

/**
 * A common table expression a module names itself, because other CTEs of the same statement
 * refer to it by that name (`access_batch`); it must occur once per statement.
 */
export interface Cte {
  name: string;
  statement: Sql;
}

/** `name as (statement), …`: the CTEs as the list after `with`. */
export function cteList(ctes: readonly Cte[]): Sql {
  return joinSql(
    ctes.map((cte) => sql`${identifier(cte.name)} as (${cte.statement})`),
    ',\n    ',
  );
}

/**
 * Marks a hot statement whose text has few shapes, so the PostgreSQL adapter prepares it once per
 * connection and skips parsing on every later execution. PostgreSQL still decides per execution
 * whether to plan it anew for the values bound (a custom plan) or reuse one plan (a generic plan);
 * see `planOnce` for statements that must not be planned each time.
 */
export function prepared(statement: Sql): Sql {
  return new Sql(statement.parts, true);
}

/**
 * A prepared statement planned once per connection (`plan_cache_mode = force_generic_plan` while
 * it runs): for statements whose best plan is the same whatever values they carry, and whose
 * planning costs more than running them. The write statements (a resource row, its history, a
 * dozen index tables, audit and ledger as CTEs of one statement) took 0.5–0.8 ms of database CPU
 * to plan on every write, more than their execution: PostgreSQL's plan cache never chose the
 * generic plan by itself, because arrays of unknown length look dearer than the ones it was just
 * handed (docs/operations.md, "Statement plans").
 */
export function planOnce(statement: Sql): Sql {
  return new Sql(statement.parts, true, true);
}
