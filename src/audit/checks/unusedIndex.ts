// unused-index: idx_scan = 0 since statistics began. Only meaningful on a long-lived
// database: it is judged only when the statistics cover at least 7 days (since the last stats
// reset, else since the server started), never on a fresh CI database. Indexes that back a
// constraint (primary key, unique, exclusion) and dbopt's own are never reported
// (catalog/indexes.ts: unscannedIndexes).
// https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ALL-INDEXES-VIEW
import { UNUSED_MIN_DAYS, unscannedIndexes } from '../../catalog/indexes.js';
import { tableName } from '../../catalog/schema.js';
import { formatBytes } from '../../bytes.js';
import { indexGroup, type SchemaCheck } from './types.js';

const size = (b: number | null): string => (b === null ? 'size unknown: locked' : formatBytes(b));

export const unusedIndex: SchemaCheck = {
  kind: 'schema',
  code: 'unused-index',
  severity: 'warning',
  summary: 'no index without a single scan over at least 7 days of statistics',
  check: (facts) => {
    const days = (Date.parse(facts.now) - Date.parse(facts.statsSince)) / 86_400_000;
    if (days < UNUSED_MIN_DAYS) {
      return [
        {
          status: 'skip',
          subject: 'schema',
          message: `not judged: statistics cover ${days < 1 ? `${Math.round(days * 24 * 60)} minutes` : `${days.toFixed(1)} days`} (since ${facts.statsSince}); unused indexes are judged after ${UNUSED_MIN_DAYS} days on a long-lived database`,
        },
      ];
    }
    const unused = unscannedIndexes(facts.indexes);
    if (unused.length === 0)
      return [{ status: 'pass', subject: 'schema', message: `every index was scanned in ${days.toFixed(0)} days` }];
    return unused.map((i) => ({
      status: 'fail',
      subject: tableName(i.schema, i.name),
      group: indexGroup(i),
      message: `index ${tableName(i.schema, i.name)} on ${tableName(i.schema, i.table)} (${size(i.sizeBytes)}) has not been scanned in ${days.toFixed(0)} days (idx_scan = 0 since ${facts.statsSince.slice(0, 10)}): it slows writes and takes memory. If no rare job needs it, DROP INDEX CONCURRENTLY ${tableName(i.schema, i.name)}.`,
    }));
  },
};
