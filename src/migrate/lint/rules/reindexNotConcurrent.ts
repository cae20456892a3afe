// reindex-not-concurrent: REINDEX without CONCURRENTLY (or with `(CONCURRENTLY false)`, read from
// the option's value) locks the index ACCESS EXCLUSIVE and its table SHARE for the whole rebuild:
// writes wait, and so does every query planned on the table (the planner locks all its indexes).
import { isConcurrentReindex } from '../../../sql/options.js';
import { body, kind, type LintRule, type RangeVar, type RuleHit } from '../types.js';

const WHAT: Record<string, string> = {
  REINDEX_OBJECT_INDEX: 'INDEX',
  REINDEX_OBJECT_TABLE: 'TABLE',
  REINDEX_OBJECT_SCHEMA: 'SCHEMA',
  REINDEX_OBJECT_DATABASE: 'DATABASE',
  REINDEX_OBJECT_SYSTEM: 'SYSTEM',
};

export const reindexNotConcurrent: LintRule = {
  code: 'reindex-not-concurrent',
  severity: 'error',
  fix: 'Write REINDEX ... CONCURRENTLY (PostgreSQL 12+), alone in a migration file of its own.',
  doc: 'reindex-not-concurrent',
  blocks: 'writes, and reads that plan on the table, for the whole rebuild',
  squawk: 'require-concurrent-reindex',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (kind(stmt) !== 'ReindexStmt' || isConcurrentReindex(stmt.node)) continue;
      const b = body(stmt);
      const rel = b.relation as RangeVar | undefined;
      const target =
        `${WHAT[String(b.kind)] ?? ''} ${rel ? (rel.schemaname ? `${rel.schemaname}.${rel.relname}` : rel.relname) : String(b.name ?? '')}`.trim();
      hits.push({
        stmt,
        rel,
        message: `REINDEX ${target} without CONCURRENTLY locks each index ACCESS EXCLUSIVE and its table SHARE until the rebuild ends: writes wait, and so does every query planned on the table.`,
      });
    }
    return hits;
  },
};
