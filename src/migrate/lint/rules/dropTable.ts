// drop-table: DROP TABLE of a table that exists before the migration loses its data and breaks
// the application version still running. A warning: sometimes it is the point.
import { createdBefore, createdInUnit, body, kind, type LintRule, type RuleHit } from '../types.js';

export const dropTable: LintRule = {
  code: 'drop-table',
  severity: 'warning',
  fix: 'Deploy code that no longer uses the table first (or rename it away for a release), then drop it in a later migration.',
  doc: 'drop-table',
  blocks: 'the running application version; the data is gone',
  squawk: 'ban-drop-table',
  impact: 'breaking',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      const b = body(stmt);
      if (kind(stmt) !== 'DropStmt' || b.removeType !== 'OBJECT_TABLE') continue;
      for (const o of (b.objects ?? []) as { List: { items: { String: { sval: string } }[] } }[]) {
        const names = o.List.items.map((i) => i.String.sval);
        const rel = { schemaname: names.length > 1 ? names[0] : undefined, relname: names[names.length - 1]! };
        if (createdInUnit(createdBefore(unit, stmt), rel)) continue;
        hits.push({
          stmt,
          message: `DROP TABLE ${names.join('.')}: its data is gone and the application version still running during the deploy fails on it.`,
        });
      }
    }
    return hits;
  },
};
