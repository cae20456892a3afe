// The opt-in column-type rules (ban-char, prefer-bigint, prefer-identity, prefer-text,
// prefer-timestamptz) differ only in which types they flag and what they say: this is their
// one walk over the columns a migration defines.
import { columnsDefined, relName, type ColumnDef, type LintRule, type RuleHit } from '../types.js';

/** The check of a column-type rule: `flag` names the offending type, `why` says what it costs. */
export function columnTypeCheck(
  flag: (col: ColumnDef) => string | undefined,
  why: (found: string, table: string) => string,
): LintRule['check'] {
  return (unit) => {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, col } of columnsDefined(unit)) {
      const found = flag(col);
      if (found)
        hits.push({ stmt, message: `${rel.relname}.${col.colname ?? ''} is ${found}: ${why(found, relName(rel))}` });
    }
    return hits;
  };
}
