/**
 * The tables a resource's search index and compartments are written to, one descriptor each
 * (migrations 0001, 0002, …). The write statement (write-change.ts), the clearing of a resource's
 * old rows, `:missing` and the list of store tables all follow from this list, so a new index
 * table is one descriptor here and one migration.
 */
import type { CompositeIndexEntry, ResourceIndex, SearchParamType } from '@concordia/fhir';
import { identifier, joinSql, type Sql, sql } from './sql.ts';

/** A value bound in an index row: text, numbers as decimal text, instants as ISO text, or null. */
export type IndexCell = string | null;

export interface IndexColumn {
  name: string;
  /** The array cast of the bound column (`::text[]`, `::numeric[]`, …). */
  arrayCast: Sql;
  /**
   * The expression inserted for the unnested value `u.<name>`, when it is not the value itself
   * (say `to_tsvector('simple', u.content)`).
   */
  select?: (value: Sql) => Sql;
}

export interface IndexTable {
  /** A plain lower-case table name with `resource_type` and `id` columns. */
  name: string;
  /** The parameter type whose index rows (keyed by `param`) it holds, answering `:missing`. */
  parameterType?: SearchParamType;
  /** The columns written besides `resource_type` and `id`, in the order `rows` gives values. */
  columns: readonly IndexColumn[];
  /** The rows `index` contributes; duplicates are removed by the writer. */
  rows(index: ResourceIndex): readonly (readonly IndexCell[])[];
}

const text = sql`::text[]`;
const numeric = sql`::numeric[]`;
const timestamptz = sql`::timestamptz[]`;
const float8 = sql`::float8[]`;

const column = (name: string, arrayCast: Sql = text): IndexColumn => ({ name, arrayCast });

export const INDEX_TABLES: readonly IndexTable[] = [
  {
    name: 'search_token',
    parameterType: 'token',
    columns: [column('param'), column('system'), column('code')],
    rows: (index) => index.tokens.map((t) => [t.param, t.system, t.code]),
  },
  {
    name: 'search_string',
    parameterType: 'string',
    columns: [column('param'), column('value'), column('normalized')],
    rows: (index) => index.strings.map((s) => [s.param, s.value, s.normalized]),
  },
  {
    name: 'search_reference',
    parameterType: 'reference',
    columns: [column('param'), column('target_type'), column('target_id')],
    rows: (index) => index.references.map((r) => [r.param, r.targetType, r.targetId]),
  },
  {
    name: 'search_date',
    parameterType: 'date',
    columns: [column('param'), column('low', timestamptz), column('high', timestamptz)],
    rows: (index) => (index.dates ?? []).map((d) => [d.param, d.low, d.high]),
  },
  {
    name: 'search_number',
    parameterType: 'number',
    columns: [column('param'), column('value', numeric), column('low', numeric), column('high', numeric)],
    rows: (index) => (index.numbers ?? []).map((n) => [n.param, n.value, n.low, n.high]),
  },
  {
    name: 'search_quantity',
    parameterType: 'quantity',
    columns: [
      column('param'),
      column('system'),
      column('code'),
      column('unit'),
      column('value', numeric),
      column('low', numeric),
      column('high', numeric),
      column('canonical_code'),
      column('canonical_value', numeric),
      column('canonical_low', numeric),
      column('canonical_high', numeric),
    ],
    rows: (index) =>
      (index.quantities ?? []).map((q) => [
        q.param,
        q.system,
        q.code,
        q.unit,
        q.value,
        q.low,
        q.high,
        q.canonicalCode,
        q.canonicalValue,
        q.canonicalLow,
        q.canonicalHigh,
      ]),
  },
  {
    name: 'search_uri',
    parameterType: 'uri',
    columns: [column('param'), column('value')],
    rows: (index) => (index.uris ?? []).map((u) => [u.param, u.value]),
  },
  {
    // search.html#composite (migration 0003): one row per combination of one item's components.
    name: 'search_composite',
    parameterType: 'composite',
    columns: [
      column('param'),
      column('token_system'),
      column('token_code'),
      column('system'),
      column('code'),
      column('unit'),
      column('value', numeric),
      column('low', numeric),
      column('high', numeric),
      column('canonical_code'),
      column('canonical_value', numeric),
      column('canonical_low', numeric),
      column('canonical_high', numeric),
      column('date_low', timestamptz),
      column('date_high', timestamptz),
      column('text'),
      column('target_type'),
      column('target_id'),
      column('third_value', numeric),
    ],
    rows: (index) => (index.composites ?? []).map(compositeRow),
  },
  {
    // Location `near` (search.html#special, migration 0003): positions in WGS84 degrees.
    name: 'search_position',
    parameterType: 'special',
    columns: [column('param'), column('latitude', float8), column('longitude', float8)],
    rows: (index) => (index.positions ?? []).map((p) => [p.param, String(p.latitude), String(p.longitude)]),
  },
  {
    // `_text` and `_content` (migration 0004): one row per resource, text folded by the indexer.
    name: 'search_text',
    columns: [
      { name: 'narrative', arrayCast: text, select: (value) => sql`to_tsvector('simple', ${value})` },
      { name: 'content', arrayCast: text, select: (value) => sql`to_tsvector('simple', ${value})` },
    ],
    rows: (index) => (index.texts ? [[index.texts.narrative ?? null, index.texts.content]] : []),
  },
  {
    name: 'compartment',
    columns: [column('patient_id')],
    rows: (index) => index.patientCompartments.map((patientId) => [patientId]),
  },
];

/** A composite entry in the columns of `search_composite`, its second component by type. */
function compositeRow(entry: CompositeIndexEntry): IndexCell[] {
  const { value } = entry;
  const token = value.type === 'token' ? value : undefined;
  const ranged = value.type === 'number' || value.type === 'quantity' ? value : undefined;
  const quantity = value.type === 'quantity' ? value : undefined;
  const date = value.type === 'date' ? value : undefined;
  const reference = value.type === 'reference' ? value : undefined;
  const text = value.type === 'string' ? value.normalized : value.type === 'uri' ? value.value : null;
  return [
    entry.param,
    entry.system,
    entry.code,
    token?.system ?? quantity?.system ?? null,
    token?.code ?? quantity?.code ?? null,
    quantity?.unit ?? null,
    ranged?.value ?? null,
    ranged?.low ?? null,
    ranged?.high ?? null,
    quantity?.canonicalCode ?? null,
    quantity?.canonicalValue ?? null,
    quantity?.canonicalLow ?? null,
    quantity?.canonicalHigh ?? null,
    date?.low ?? null,
    date?.high ?? null,
    text,
    reference?.targetType ?? null,
    reference?.targetId ?? null,
    entry.third ?? null,
  ];
}

/** The index table answering `:missing` for parameters of `type`, if there is one. */
export function indexTableFor(type: SearchParamType): IndexTable | undefined {
  return INDEX_TABLES.find((table) => table.parameterType === type);
}

export function tableName(table: IndexTable): Sql {
  return sql`${identifier(table.name)}`;
}

/** `"param", "system", …`: the table's written columns, for an insert list or an `unnest` alias. */
export function columnNames(table: IndexTable): Sql {
  return joinSql(
    table.columns.map((column) => sql`${identifier(column.name)}`),
    ', ',
  );
}

/** The inserted value of each column from the unnested row `u` (`to_tsvector(…)` where a column says so). */
export function selectedColumns(table: IndexTable): Sql {
  return joinSql(
    table.columns.map((column) => {
      const value = sql`u.${identifier(column.name)}`;
      return column.select ? column.select(value) : value;
    }),
    ', ',
  );
}
