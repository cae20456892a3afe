// index-not-concurrent: CREATE INDEX without CONCURRENTLY on a table that already exists.
import { nodeBody, nodeType } from '../../../sql/parse.js';
import { createdBefore, createdInUnit, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const indexNotConcurrent: LintRule = {
  code: 'index-not-concurrent',
  severity: 'error',
  fix: 'Write CREATE INDEX CONCURRENTLY, alone in a migration file of its own; dbopt runs it outside a transaction.',
  doc: 'index-not-concurrent',
  blocks: 'writes of the table (INSERT, UPDATE, DELETE) for the whole build',
  squawk: 'require-concurrent-index-creation',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (nodeType(stmt.node) !== 'IndexStmt') continue;
      const b = nodeBody(stmt.node);
      if (b.concurrent) continue;
      const rel = b.relation as RangeVar;
      // A table or materialized view created earlier in the same file is new and empty (or
      // unseen by anyone): a plain build there is instant and safe.
      if (createdInUnit(createdBefore(unit, stmt), rel)) continue;
      hits.push({
        stmt,
        rel,
        message: `CREATE INDEX ${b.idxname ? `${String(b.idxname)} ` : ''}without CONCURRENTLY takes a SHARE lock on ${relName(rel)}: every INSERT, UPDATE and DELETE on it waits until the build ends.`,
      });
    }
    return hits;
  },
};
