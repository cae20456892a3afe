// refresh-in-migration: REFRESH MATERIALIZED VIEW inside a migration runs the view's whole
// query during the deploy; the plain form also blocks every reader of the view meanwhile.
import { nodeBody, nodeType } from '../../../sql/parse.js';
import { relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const refreshInMigration: LintRule = {
  code: 'refresh-in-migration',
  severity: 'error',
  fix: 'Remove the REFRESH from the migration (create the view WITH NO DATA) and let dbopt refresh-views fill it.',
  doc: 'refresh-in-migration',
  blocks: 'reads of the view for the whole refresh',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (nodeType(stmt.node) !== 'RefreshMatViewStmt') continue;
      const b = nodeBody(stmt.node);
      if (b.skipData) continue; // WITH NO DATA only empties the view: instant
      const view = relName(b.relation as RangeVar);
      if (b.concurrent) {
        hits.push({
          stmt,
          severity: 'warning',
          message: `REFRESH MATERIALIZED VIEW CONCURRENTLY ${view} runs the view's full query inside the deploy and takes an EXCLUSIVE lock on it meanwhile (reads continue, other refreshes wait).`,
        });
      } else {
        hits.push({
          stmt,
          message: `REFRESH MATERIALIZED VIEW ${view} takes an ACCESS EXCLUSIVE lock: every SELECT on the view waits until its whole query has run again.`,
        });
      }
    }
    return hits;
  },
};
