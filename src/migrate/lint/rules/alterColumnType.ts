// alter-column-type: ALTER COLUMN ... TYPE on an existing table usually rewrites the table and
// rebuilds its indexes under an ACCESS EXCLUSIVE lock (binary-compatible changes such as
// varchar(n) -> text or a larger varchar limit are the exception, hence a warning).
import { altersOfExistingTables, relName, type LintRule, type RuleHit } from '../types.js';

export const alterColumnType: LintRule = {
  code: 'alter-column-type',
  severity: 'warning',
  fix: 'Add a new column of the new type, backfill it in batches, switch readers over, then drop the old column.',
  doc: 'alter-column-type',
  blocks: 'reads and writes of the table for the whole rewrite',
  squawk: 'changing-column-type',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_AlterColumnType') continue;
        hits.push({
          stmt,
          rel,
          message: `ALTER COLUMN ${cmd.name ?? ''} TYPE takes an ACCESS EXCLUSIVE lock on ${relName(rel)} and, unless the types are binary-compatible, rewrites the table and its indexes: all reads and writes wait meanwhile.`,
        });
      }
    }
    return hits;
  },
};
