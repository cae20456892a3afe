// rename-column: RENAME COLUMN on an existing table breaks the application version still running
// during the deploy (its queries name the old column). Not a lock problem: a warning.
import { body, existingBefore, kind, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const renameColumn: LintRule = {
  code: 'rename-column',
  severity: 'warning',
  fix: 'Add the new column, write both, backfill, move readers over, and drop the old column in a later deploy.',
  doc: 'rename-column',
  blocks: 'the running application version (queries naming the old column fail)',
  squawk: 'renaming-column',
  impact: 'breaking',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      const b = body(stmt);
      if (kind(stmt) !== 'RenameStmt' || b.renameType !== 'OBJECT_COLUMN') continue;
      const rel = b.relation as RangeVar;
      if (!existingBefore(unit, stmt, rel)) continue;
      hits.push({
        stmt,
        message: `RENAME COLUMN ${String(b.subname)} TO ${String(b.newname)} on ${relName(rel)}: the application version still running during the deploy queries the old name and fails.`,
      });
    }
    return hits;
  },
};
