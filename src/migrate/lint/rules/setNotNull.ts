// set-not-null: ALTER COLUMN ... SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE
// lock, unless a validated CHECK (col IS NOT NULL) already proves it (PostgreSQL 12+), which a
// linter cannot see: hence a warning.
import { altersOfExistingTables, relName, type LintRule, type RuleHit } from '../types.js';

export const setNotNull: LintRule = {
  code: 'set-not-null',
  severity: 'warning',
  fix: 'First add CHECK (col IS NOT NULL) NOT VALID and VALIDATE it in a later migration; SET NOT NULL then skips the scan.',
  doc: 'set-not-null',
  blocks: 'reads and writes of the table for the whole scan',
  squawk: 'adding-not-nullable-field',
  impact: 'scan',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_SetNotNull') continue;
        hits.push({
          stmt,
          rel,
          message: `ALTER COLUMN ${cmd.name ?? ''} SET NOT NULL scans every row of ${relName(rel)} under an ACCESS EXCLUSIVE lock: all reads and writes wait for the scan.`,
        });
      }
    }
    return hits;
  },
};
