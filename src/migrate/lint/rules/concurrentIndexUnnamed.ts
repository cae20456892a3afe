// concurrent-index-unnamed: CREATE [UNIQUE] INDEX CONCURRENTLY without an index name. dbopt
// heals, verifies (indisvalid) and analyzes a concurrent build by its name; PostgreSQL picks a
// name for an unnamed one, so a failed build leaves an INVALID index nobody looks for and the
// rerun builds a second one (..._idx1) beside it.
import { nodeBody, nodeType } from '../../../sql/parse.js';
import { relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const concurrentIndexUnnamed: LintRule = {
  code: 'concurrent-index-unnamed',
  severity: 'error',
  fatal: true,
  fix: 'Name the index (CREATE INDEX CONCURRENTLY name ON ...) so dbopt can heal and verify it.',
  doc: 'concurrent-index-unnamed',
  blocks: 'nothing now; a failed build leaves an index dbopt cannot heal',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (nodeType(stmt.node) !== 'IndexStmt') continue;
      const b = nodeBody(stmt.node);
      if (!b.concurrent || b.idxname) continue;
      hits.push({
        stmt,
        message: `CREATE ${b.unique ? 'UNIQUE ' : ''}INDEX CONCURRENTLY on ${relName(b.relation as RangeVar)} has no name: if the build fails it leaves an INVALID index${b.unique ? ' that still rejects duplicate writes' : ''} under a name PostgreSQL chose, which dbopt cannot heal or verify, and the rerun builds a second index beside it.`,
      });
    }
    return hits;
  },
};
