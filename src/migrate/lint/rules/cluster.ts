// cluster: CLUSTER rewrites the table in index order under an ACCESS EXCLUSIVE lock.
import { body, kind, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const cluster: LintRule = {
  code: 'cluster',
  severity: 'error',
  fix: 'Remove CLUSTER from the migration; reorder a live table with pg_repack (or REPACK CONCURRENTLY where available).',
  doc: 'cluster',
  blocks: 'reads and writes of the table for the whole rewrite',
  squawk: 'prefer-repack',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (kind(stmt) !== 'ClusterStmt') continue;
      const rel = body(stmt).relation as RangeVar | undefined;
      hits.push({
        stmt,
        rel,
        message: rel
          ? `CLUSTER ${relName(rel)} rewrites the table under an ACCESS EXCLUSIVE lock: all reads and writes wait for the rewrite.`
          : 'CLUSTER without a table rewrites every table clustered before, each under an ACCESS EXCLUSIVE lock: reads and writes of each wait.',
      });
    }
    return hits;
  },
};
