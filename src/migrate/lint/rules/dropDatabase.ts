// drop-database: DROP DATABASE in a migration.
import { body, kind, type LintRule, type RuleHit } from '../types.js';

export const dropDatabase: LintRule = {
  code: 'drop-database',
  severity: 'error',
  fix: 'Remove DROP DATABASE from the migration; drop databases by hand, deliberately.',
  doc: 'drop-database',
  blocks: 'everyone: the database and its data are gone',
  squawk: 'ban-drop-database',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (kind(stmt) !== 'DropdbStmt') continue;
      hits.push({
        stmt,
        message: `DROP DATABASE ${String(body(stmt).dbname)} destroys the database and all its data; it runs outside any transaction, so nothing rolls it back.`,
      });
    }
    return hits;
  },
};
