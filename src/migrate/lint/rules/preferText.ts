// prefer-text (opt-in, migrate.lint.rules): varchar(n); changing the limit down later rewrites the table.
import { typeOf, type ColumnDef, type LintRule } from '../types.js';
import { columnTypeCheck } from './columnTypeRule.js';

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
  check: columnTypeCheck(
    matches,
    (_found, table) =>
      `raising the limit later is easy, but lowering it rewrites ${table} under an ACCESS EXCLUSIVE lock; text with a CHECK changes without a rewrite.`,
  ),
};
