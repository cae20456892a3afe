// duplicate-index: an index whose key columns are a leading prefix of another index on the
// same table (same method, operator classes, expressions and predicate). The longer index
// answers the same look-ups; the shorter one costs writes and memory. Unique and constraint
// indexes are never reported as the redundant one, unless the other is identical and unique.
// https://www.postgresql.org/docs/current/indexes-multicolumn.html
import { tableName, type IndexFact } from '../schema.js';
import type { SchemaCheck } from './types.js';

/** [redundant, covering] pairs. */
export function duplicateIndexes(indexes: IndexFact[]): [IndexFact, IndexFact][] {
  const out: [IndexFact, IndexFact][] = [];
  const enforces = (i: IndexFact): boolean => i.unique || i.constraint;
  for (const a of indexes) {
    for (const b of indexes) {
      if (a === b || !a.valid || !b.valid) continue;
      if (a.schema !== b.schema || a.table !== b.table || a.method !== b.method) continue;
      if (a.predicate !== b.predicate || a.expressions !== b.expressions) continue;
      if (a.keys.length > b.keys.length) continue;
      if (!a.keys.every((k, i) => k === b.keys[i] && a.opclasses[i] === b.opclasses[i])) continue;
      const identical = a.keys.length === b.keys.length;
      if (!identical) {
        // A unique prefix enforces something the longer index does not; expression keys are compared whole only.
        if (enforces(a) || a.expressions !== null) continue;
      } else {
        // Twins: keep the one that enforces; between equals, report the later name once.
        if (enforces(a) && !enforces(b)) continue;
        if (a.constraint && !b.constraint) continue;
        if (enforces(a) === enforces(b) && a.name < b.name) continue;
      }
      out.push([a, b]);
    }
  }
  return out;
}

export const duplicateIndex: SchemaCheck = {
  kind: 'schema',
  code: 'duplicate-index',
  severity: 'warning',
  summary: 'no index made redundant by another with the same leading columns',
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
