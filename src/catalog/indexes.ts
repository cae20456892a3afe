// Facts about indexes, derived from the catalog rows schema.ts reads: which index another
// makes redundant, which foreign keys no index serves, which indexes count as unused. One
// answer each, shared by the audit's schema checks and `dbopt report`.
// https://www.postgresql.org/docs/current/indexes-multicolumn.html
// https://www.postgresql.org/docs/current/indexes-index-only-scans.html

export interface IndexFact {
  schema: string;
  table: string;
  name: string;
  /** Key columns (attnums; 0 for an expression), without INCLUDE columns. */
  keys: number[];
  keyNames: string[];
  /** INCLUDE (non-key) columns, attnums. */
  include: number[];
  /** Per key column: operator class, indoption (DESC / NULLS FIRST bits), collation oids. */
  opclasses: number[];
  options: number[];
  collations: number[];
  method: string;
  unique: boolean;
  /** UNIQUE NULLS NOT DISTINCT (PostgreSQL 15+). */
  nullsNotDistinct: boolean;
  primary: boolean;
  /** Backs a constraint (primary key, unique, exclusion): never "unused". */
  constraint: boolean;
  valid: boolean;
  /** CREATE INDEX CONCURRENTLY is building it right now. */
  building: boolean;
  /** The predicate's parse tree (positions stripped), null for a full index: compare, don't show. */
  predicate: string | null;
  /** The key expressions' parse trees (positions stripped), null when every key is a column. */
  expressions: string | null;
  scans: number;
  /** null when the index or its table is locked by another session. */
  sizeBytes: number | null;
  definition: string | null;
  locked: boolean;
  /** schema.table of the partitioned table at the root of this index's table, when it is a partition. */
  partitionOf?: string;
}

export interface ForeignKeyFact {
  schema: string;
  table: string;
  name: string;
  columns: number[];
  columnNames: string[];
  references: string;
}

/** Below this many days of statistics an index without scans is "no scans yet", not unused. */
export const UNUSED_MIN_DAYS = 7;

/**
 * Indexes without a single scan that could be dropped: valid, not unique, not backing a
 * constraint (those enforce, not serve), and not dbopt's own bookkeeping (dbopt schema).
 * Whether the statistics cover enough days is the caller's judgement (UNUSED_MIN_DAYS).
 */
export function unscannedIndexes(indexes: IndexFact[]): IndexFact[] {
  return indexes.filter((i) => i.valid && i.scans === 0 && !i.unique && !i.constraint && i.schema !== 'dbopt');
}

/** True when `b` answers every look-up `a` answers and holds every column `a` returns. */
export function coveredBy(a: IndexFact, b: IndexFact): boolean {
  if (a === b || !a.valid || !b.valid) return false;
  if (a.schema !== b.schema || a.table !== b.table || a.method !== b.method) return false;
  if (a.predicate !== b.predicate || a.expressions !== b.expressions) return false;
  if (a.keys.length > b.keys.length) return false;
  const sameKey = (i: number): boolean =>
    a.keys[i] === b.keys[i] &&
    a.opclasses[i] === b.opclasses[i] &&
    (a.options[i] ?? 0) === (b.options[i] ?? 0) &&
    (a.collations[i] ?? 0) === (b.collations[i] ?? 0);
  if (!a.keys.every((_, i) => sameKey(i))) return false;
  const bColumns = new Set([...b.keys, ...b.include]);
  if (!a.include.every((c) => bColumns.has(c))) return false;
  if (a.unique || a.constraint) {
    if (!b.unique || b.keys.length !== a.keys.length || b.nullsNotDistinct !== a.nullsNotDistinct) return false;
  }
  return true;
}

/** [redundant, covering] pairs; each redundant index once. */
export function duplicateIndexes(indexes: IndexFact[]): [IndexFact, IndexFact][] {
  const out: [IndexFact, IndexFact][] = [];
  // Between twins (each covers the other) keep the one backing a constraint, then the unique
  // one, then the earlier name.
  const keepRank = (i: IndexFact): number => (i.constraint ? 2 : 0) + (i.unique ? 1 : 0);
  for (const a of indexes) {
    // Prefer the covering index with the most key columns, then name, so messages are stable.
    const keepsA = (b: IndexFact): boolean =>
      keepRank(a) > keepRank(b) || (keepRank(a) === keepRank(b) && a.name < b.name);
    const candidates = indexes.filter((b) => coveredBy(a, b) && !(coveredBy(b, a) && keepsA(b)));
    // Dropping a constraint index needs ALTER TABLE ... DROP CONSTRAINT: not this check's advice.
    if (candidates.length === 0 || a.constraint) continue;
    candidates.sort((x, y) => y.keys.length - x.keys.length || x.name.localeCompare(y.name));
    out.push([a, candidates[0]!]);
  }
  return out;
}

/** Foreign keys whose columns do not lead any valid, non-partial index on the referencing table. */
export function unindexedForeignKeys(facts: { indexes: IndexFact[]; foreignKeys: ForeignKeyFact[] }): ForeignKeyFact[] {
  return facts.foreignKeys.filter(
    (fk) =>
      !facts.indexes.some(
        (i) =>
          i.schema === fk.schema &&
          i.table === fk.table &&
          i.valid &&
          i.predicate === null &&
          i.keys.length >= fk.columns.length &&
          fk.columns.every((c) => i.keys.slice(0, fk.columns.length).includes(c)),
      ),
  );
}
