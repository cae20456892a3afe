// rename-table: RENAME of an existing table (or view) breaks the application version still
// running during the deploy. A warning: the lock is brief.
import { body, existingBefore, kind, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

const RENAMED = new Set(['OBJECT_TABLE', 'OBJECT_VIEW', 'OBJECT_MATVIEW']);

export const renameTable: LintRule = {
  code: 'rename-table',
  severity: 'warning',
  fix: 'Create the new name as a view (or the old one as a view over the new table) until no running code uses the old name.',
  doc: 'rename-table',
  blocks: 'the running application version (queries naming the old table fail)',
  squawk: 'renaming-table',
  impact: 'breaking',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      const b = body(stmt);
      if (kind(stmt) !== 'RenameStmt' || !RENAMED.has(String(b.renameType))) continue;
      const rel = b.relation as RangeVar;
      if (!existingBefore(unit, stmt, rel)) continue;
      hits.push({
        stmt,
        message: `RENAME ${relName(rel)} TO ${String(b.newname)}: the application version still running during the deploy queries the old name and fails.`,
      });
    }
    return hits;
  },
};
