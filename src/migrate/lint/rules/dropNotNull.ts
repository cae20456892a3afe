// drop-not-null: DROP NOT NULL on an existing column lets NULLs in that the running code may not
// expect. Instant; a warning.
import { altersOfExistingTables, relName, type LintRule, type RuleHit } from '../types.js';

export const dropNotNull: LintRule = {
  code: 'drop-not-null',
  severity: 'warning',
  fix: 'Make sure every reader handles NULL in the column before allowing it.',
  doc: 'drop-not-null',
  blocks: 'nothing; code assuming the column is never NULL may break',
  squawk: 'ban-drop-not-null',
  impact: 'breaking',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_DropNotNull') continue;
        hits.push({
          stmt,
          message: `ALTER COLUMN ${cmd.name ?? ''} DROP NOT NULL on ${relName(rel)}: NULLs become possible, and code that assumes the column is always set may break.`,
        });
      }
    }
    return hits;
  },
};
