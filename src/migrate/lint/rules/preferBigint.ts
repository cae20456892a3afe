// prefer-bigint (opt-in, migrate.lint.rules): smallint/integer/serial columns; widening them later is a rewrite.
import { typeOf, type ColumnDef, type LintRule } from '../types.js';
import { columnTypeCheck } from './columnTypeRule.js';

function matches(col: ColumnDef): string | undefined {
  const t = typeOf(col);
  const names: Record<string, string> = {
    int2: 'smallint',
    int4: 'integer',
    serial: 'serial',
    serial4: 'serial',
    smallserial: 'smallserial',
    serial2: 'smallserial',
  };
  return names[t];
}

export const preferBigint: LintRule = {
  code: 'prefer-bigint',
  severity: 'warning',
  optIn: true,
  fix: 'Use bigint (or bigserial / GENERATED ... AS IDENTITY on bigint).',
  doc: 'prefer-bigint',
  blocks: 'nothing now; changing the type later rewrites the table',
  squawk: 'prefer-bigint-over-int, prefer-bigint-over-smallint, prefer-big-int',
  impact: 'none',
  check: columnTypeCheck(
    matches,
    (_found, table) =>
      `ids and counters outgrow 32 bits, and widening the column later rewrites ${table} under an ACCESS EXCLUSIVE lock.`,
  ),
};
