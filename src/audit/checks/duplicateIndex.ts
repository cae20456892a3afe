// duplicate-index: an index made redundant by another on the same table: the other's key
// columns start with all of its key columns, with the same operator classes, sort options
// (DESC, NULLS FIRST) and collations; the other also holds its INCLUDE columns (so an
// index-only scan still works); same access method, same predicate, same key expressions.
// The redundant one costs writes and memory for nothing. A unique (or constraint) index is
// never the redundant one unless the other is unique on exactly the same keys: it enforces
// something a longer index does not. Between exact twins the later name is reported, once.
// https://www.postgresql.org/docs/current/indexes-multicolumn.html
// https://www.postgresql.org/docs/current/indexes-index-only-scans.html
import { tableName, type IndexFact } from '../schema.js';
import type { SchemaCheck } from './types.js';

/** True when `b` answers every look-up `a` answers and holds every column `a` returns. */
export function coveredBy(a: IndexFact, b: IndexFact): boolean {
  if (a === b || !a.valid || !b.valid) return false;
  if (a.schema !== b.schema || a.table !== b.table || a.method !== b.method) return false;
  if (a.predicate !== b.predicate || a.expressions !== b.expressions) return false;
  if (a.keys.length > b.keys.length) return false;
  const sameKey = (i: number): boolean =>
    a.keys[i] === b.keys[i] && a.opclasses[i] === b.opclasses[i] && (a.options[i] ?? 0) === (b.options[i] ?? 0) && (a.collations[i] ?? 0) === (b.collations[i] ?? 0);
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
  // Between twins (each covers the other) keep the one backing a constraint, then the unique one, then the earlier name.
  const keepRank = (i: IndexFact): number => (i.constraint ? 2 : 0) + (i.unique ? 1 : 0);
  for (const a of indexes) {
    // Prefer the covering index with the most key columns, then name, so messages are stable.
    const candidates = indexes.filter((b) => coveredBy(a, b) && !(coveredBy(b, a) && (keepRank(a) > keepRank(b) || (keepRank(a) === keepRank(b) && a.name < b.name))));
    // Dropping a constraint index needs ALTER TABLE ... DROP CONSTRAINT: not this check's advice.
    if (candidates.length === 0 || a.constraint) continue;
    candidates.sort((x, y) => y.keys.length - x.keys.length || x.name.localeCompare(y.name));
    out.push([a, candidates[0]!]);
  }
  return out;
}

export const duplicateIndex: SchemaCheck = {
  kind: 'schema',
  code: 'duplicate-index',
  severity: 'warning',
  summary: 'no index made redundant by another with the same leading key columns, options and INCLUDE columns',
  check: (facts) => {
    const pairs = duplicateIndexes(facts.indexes);
    if (pairs.length === 0) return [{ status: 'pass', message: 'no duplicate index', subject: 'schema' }];
    return pairs.map(([a, b]) => ({
      status: 'fail',
      subject: tableName(a.schema, a.name),
      message: `index ${tableName(a.schema, a.name)} (${a.keyNames.join(', ')}) is covered by ${b.name} (${b.keyNames.join(', ')}) on ${tableName(a.schema, a.table)}: it slows every write for nothing. Drop it: DROP INDEX CONCURRENTLY ${tableName(a.schema, a.name)}.`,
    }));
  },
};
