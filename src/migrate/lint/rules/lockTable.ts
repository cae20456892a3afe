// lock-table: an explicit LOCK TABLE in SHARE mode or stronger holds that lock until the
// migration's transaction ends, blocking writes (SHARE...) or everything (ACCESS EXCLUSIVE).
import { body, existingBefore, kind, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

const MODES = [
  '',
  'ACCESS SHARE',
  'ROW SHARE',
  'ROW EXCLUSIVE',
  'SHARE UPDATE EXCLUSIVE',
  'SHARE',
  'SHARE ROW EXCLUSIVE',
  'EXCLUSIVE',
  'ACCESS EXCLUSIVE',
];

export const lockTable: LintRule = {
  code: 'lock-table',
  severity: 'warning',
  fix: 'Drop the explicit LOCK, or keep the rest of the migration short: the lock is held until it commits.',
  doc: 'lock-table',
  blocks: 'writes (SHARE and up) or all access (ACCESS EXCLUSIVE) until the migration commits',
  impact: 'lock',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (kind(stmt) !== 'LockStmt') continue;
      const b = body(stmt);
      const mode = Number(b.mode ?? 8);
      if (mode < 5) continue;
      for (const r of (b.relations ?? []) as { RangeVar: RangeVar }[]) {
        if (!existingBefore(unit, stmt, r.RangeVar)) continue;
        hits.push({
          stmt,
          rel: r.RangeVar,
          message: `LOCK TABLE ${relName(r.RangeVar)} IN ${MODES[mode]} MODE holds the lock until the migration commits: ${mode === 8 ? 'all reads and writes' : 'all writes'} of the table wait meanwhile.`,
        });
      }
    }
    return hits;
  },
};
