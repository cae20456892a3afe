// prefer-text (opt-in, migrate.lint.rules): varchar(n); changing the limit down later rewrites the table.
import { columnsDefined, relName, typeOf, type ColumnDef, type LintRule, type RuleHit } from '../types.js';

function matches(col: ColumnDef): string | undefined {
  const t = typeOf(col);
  return t === 'varchar' && (col.typeName?.typmods ?? []).length > 0 ? 'varchar(n)' : undefined;
}

export const preferText: LintRule = {
  code: 'prefer-text',
  severity: 'warning',
  optIn: true,
  fix: 'Use text, with a CHECK (length(col) <= n) constraint if the limit matters.',
  doc: 'prefer-text',
  blocks: 'nothing now; changing the type later rewrites the table',
  squawk: 'prefer-text-field',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, col } of columnsDefined(unit)) {
      const found = matches(col);
      if (!found) continue;
      hits.push({
        stmt,
        message: `${rel.relname}.${col.colname ?? ''} is ${found}: raising the limit later is easy, but lowering it rewrites ${relName(rel)} under an ACCESS EXCLUSIVE lock; text with a CHECK changes without a rewrite.`,
      });
    }
    return hits;
  },
};
