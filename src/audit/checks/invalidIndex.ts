// invalid-index: an index marked INVALID (a failed or interrupted CREATE INDEX CONCURRENTLY).
// Writes still maintain it, but no query can use it. Indexes being built right now are skipped.
// https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
import { tableName } from '../../catalog/schema.js';
import { indexGroup, type SchemaCheck } from './types.js';

export const invalidIndex: SchemaCheck = {
  kind: 'schema',
  code: 'invalid-index',
  severity: 'error',
  summary: 'no INVALID index (left by a failed concurrent build)',
  check: (facts) => {
    const bad = facts.indexes.filter((i) => !i.valid && !i.building);
    if (bad.length === 0) return [{ status: 'pass', message: 'every index is valid', subject: 'schema' }];
    return bad.map((i) => ({
      status: 'fail',
      subject: tableName(i.schema, i.name),
      group: indexGroup(i),
      message: `index ${tableName(i.schema, i.name)} on ${tableName(i.schema, i.table)} is INVALID: writes maintain it but no query can use it. Rebuild it: REINDEX INDEX CONCURRENTLY ${tableName(i.schema, i.name)} (or rerun dbopt migrate, which heals it).`,
    }));
  },
};
