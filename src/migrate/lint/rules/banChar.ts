// ban-char (opt-in, migrate.lint.rules): char(n) pads with blanks.
import { columnsDefined, relName, typeOf, type ColumnDef, type LintRule, type RuleHit } from '../types.js';

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
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, col } of columnsDefined(unit)) {
      const found = matches(col);
      if (!found) continue;
      hits.push({
        stmt,
        message: `${rel.relname}.${col.colname ?? ''} is ${found}: values are blank-padded to the length, and changing the type later rewrites ${relName(rel)}.`,
      });
    }
    return hits;
  },
};
