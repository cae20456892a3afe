// duplicate-index: an index made redundant by another on the same table: the other's key
// columns start with all of its key columns, with the same operator classes, sort options
// (DESC, NULLS FIRST) and collations; the other also holds its INCLUDE columns (so an
// index-only scan still works); same access method, same predicate, same key expressions.
// The redundant one costs writes and memory for nothing. A unique (or constraint) index is
// never the redundant one unless the other is unique on exactly the same keys: it enforces
// something a longer index does not. Between exact twins the later name is reported, once.
// https://www.postgresql.org/docs/current/indexes-multicolumn.html
// https://www.postgresql.org/docs/current/indexes-index-only-scans.html
import { duplicateIndexes } from '../../catalog/indexes.js';
import { tableName } from '../../catalog/schema.js';
import { indexGroup, type SchemaCheck } from './types.js';

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
      group: indexGroup(a),
      message: `index ${tableName(a.schema, a.name)} (${a.keyNames.join(', ')}) is covered by ${b.name} (${b.keyNames.join(', ')}) on ${tableName(a.schema, a.table)}: it slows every write for nothing. Drop it: DROP INDEX CONCURRENTLY ${tableName(a.schema, a.name)}.`,
    }));
  },
};
