// ban-char (opt-in, migrate.lint.rules): char(n) pads with blanks.
import { typeOf, type ColumnDef, type LintRule } from '../types.js';
import { columnTypeCheck } from './columnTypeRule.js';

function matches(col: ColumnDef): string | undefined {
  const t = typeOf(col);
  return t === 'bpchar' ? 'char(n)' : undefined;
}

export const banChar: LintRule = {
  code: 'ban-char',
  severity: 'warning',
  optIn: true,
  fix: 'Use text (or varchar) instead of char(n).',
  doc: 'ban-char',
  blocks: 'nothing now; changing the type later rewrites the table',
  squawk: 'ban-char-field',
  impact: 'none',
  check: columnTypeCheck(
    matches,
    (_found, table) => `values are blank-padded to the length, and changing the type later rewrites ${table}.`,
  ),
};
