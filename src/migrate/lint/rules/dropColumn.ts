// drop-column: DROP COLUMN on an existing table breaks the application version still running
// during the deploy (SELECT col, INSERT ... (col) fail). The drop itself is instant: a warning.
import { altersOfExistingTables, relName, type LintRule, type RuleHit } from '../types.js';

export const dropColumn: LintRule = {
  code: 'drop-column',
  severity: 'warning',
  fix: 'Deploy code that no longer reads or writes the column first; drop it in a later migration.',
  doc: 'drop-column',
  blocks: 'the running application version (queries naming the column fail)',
  squawk: 'ban-drop-column',
  impact: 'breaking',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_DropColumn') continue;
        hits.push({
          stmt,
          message: `DROP COLUMN ${cmd.name ?? ''} on ${relName(rel)}: the application version still running during the deploy reads or writes it and fails; the data is gone.`,
        });
      }
    }
    return hits;
  },
};
