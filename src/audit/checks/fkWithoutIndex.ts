// fk-without-index: a foreign key whose columns do not lead any valid, non-partial index on the
// referencing table. Deleting or updating a referenced row then scans the whole referencing
// table while holding a lock, and joins along the key have no index.
// https://www.postgresql.org/docs/current/ddl-constraints.html#DDL-CONSTRAINTS-FK
import { unindexedForeignKeys } from '../../catalog/indexes.js';
import { tableName } from '../../catalog/schema.js';
import type { SchemaCheck } from './types.js';

export const fkWithoutIndex: SchemaCheck = {
  kind: 'schema',
  code: 'fk-without-index',
  severity: 'warning',
  summary: 'every foreign key is served by an index leading with its columns',
  check: (facts) => {
    const bad = unindexedForeignKeys(facts);
    if (bad.length === 0) return [{ status: 'pass', subject: 'schema', message: 'every foreign key has an index' }];
    return bad.map((fk) => ({
      status: 'fail',
      subject: `${tableName(fk.schema, fk.table)}.${fk.name}`,
      message: `foreign key ${fk.name} on ${tableName(fk.schema, fk.table)} (${fk.columnNames.join(', ')}) -> ${fk.references} has no index: deleting a ${fk.references} row scans ${tableName(fk.schema, fk.table)} under lock. Add one: CREATE INDEX CONCURRENTLY ON ${tableName(fk.schema, fk.table)} (${fk.columnNames.join(', ')}).`,
    }));
  },
};
