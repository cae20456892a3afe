// prefer-timestamptz (opt-in, migrate.lint.rules): timestamp without time zone.
import { typeOf, type ColumnDef, type LintRule } from '../types.js';
import { columnTypeCheck } from './columnTypeRule.js';

function matches(col: ColumnDef): string | undefined {
  const t = typeOf(col);
  return t === 'timestamp' ? 'timestamp without time zone' : undefined;
}

export const preferTimestamptz: LintRule = {
  code: 'prefer-timestamptz',
  severity: 'warning',
  optIn: true,
  fix: 'Use timestamptz (timestamp with time zone).',
  doc: 'prefer-timestamptz',
  blocks: 'nothing now; changing the type later rewrites the table',
  squawk: 'prefer-timestamp-tz',
  impact: 'none',
  check: columnTypeCheck(
    matches,
    (_found, table) =>
      `values lose their offset, and converting to timestamptz later rewrites ${table} under an ACCESS EXCLUSIVE lock.`,
  ),
};
