// truncate: TRUNCATE of an existing table destroys its rows under an ACCESS EXCLUSIVE lock;
// CASCADE also empties every table referencing it.
import { body, existingBefore, kind, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const truncate: LintRule = {
  code: 'truncate',
  severity: 'error',
  fix: 'Delete the rows you mean in batches (DELETE ... WHERE), or drop CASCADE and name every table to empty.',
  doc: 'truncate',
  blocks: 'reads and writes of the table (and, with CASCADE, of every referencing table); the rows are gone',
  squawk: 'ban-truncate-cascade',
  impact: 'lock',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (kind(stmt) !== 'TruncateStmt') continue;
      const b = body(stmt);
      const cascade = b.behavior === 'DROP_CASCADE';
      for (const r of (b.relations ?? []) as { RangeVar: RangeVar }[]) {
        if (!existingBefore(unit, stmt, r.RangeVar)) continue;
        hits.push({
          stmt,
          rel: r.RangeVar,
          message: `TRUNCATE ${relName(r.RangeVar)}${cascade ? ' CASCADE' : ''} deletes every row under an ACCESS EXCLUSIVE lock${cascade ? ', and every row of each table whose foreign keys reference it' : ''}: reads and writes wait, and the data is gone.`,
        });
      }
    }
    return hits;
  },
};
