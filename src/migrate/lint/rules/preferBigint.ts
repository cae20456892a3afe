// prefer-bigint (opt-in, migrate.lint.rules): smallint/integer/serial columns; widening them later is a rewrite.
import { columnsDefined, relName, typeOf, type ColumnDef, type LintRule, type RuleHit } from '../types.js';

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
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, col } of columnsDefined(unit)) {
      const found = matches(col);
      if (!found) continue;
      hits.push({
        stmt,
        message: `${rel.relname}.${col.colname ?? ''} is ${found}: ids and counters outgrow 32 bits, and widening the column later rewrites ${relName(rel)} under an ACCESS EXCLUSIVE lock.`,
      });
    }
    return hits;
  },
};
