// prefer-timestamptz (opt-in, migrate.lint.rules): timestamp without time zone.
import { columnsDefined, relName, typeOf, type ColumnDef, type LintRule, type RuleHit } from '../types.js';

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
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, col } of columnsDefined(unit)) {
      const found = matches(col);
      if (!found) continue;
      hits.push({
        stmt,
        message: `${rel.relname}.${col.colname ?? ''} is ${found}: values lose their offset, and converting to timestamptz later rewrites ${relName(rel)} under an ACCESS EXCLUSIVE lock.`,
      });
    }
    return hits;
  },
};
