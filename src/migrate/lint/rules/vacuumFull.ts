// vacuum-full: VACUUM FULL (or `VACUUM (FULL [true])`, read from the option's value) rewrites
// each table into a new file under an ACCESS EXCLUSIVE lock.
import { isVacuumFull } from '../../../sql/options.js';
import { body, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const vacuumFull: LintRule = {
  code: 'vacuum-full',
  severity: 'error',
  fix: 'Remove it from the migration; plain VACUUM (no FULL) reclaims space for reuse without blocking, or use pg_repack.',
  doc: 'vacuum-full',
  blocks: 'reads and writes of each table for the whole rewrite',
  squawk: 'prefer-repack',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const stmt of unit.statements) {
      if (!isVacuumFull(stmt.node)) continue;
      const rels = ((body(stmt).rels ?? []) as { VacuumRelation: { relation: RangeVar } }[]).map(
        (r) => r.VacuumRelation.relation,
      );
      if (rels.length === 0) {
        hits.push({
          stmt,
          message:
            'VACUUM FULL without a table rewrites every table of the database, each under an ACCESS EXCLUSIVE lock: reads and writes of each wait for its rewrite.',
        });
      }
      for (const rel of rels) {
        hits.push({
          stmt,
          rel,
          message: `VACUUM FULL ${relName(rel)} rewrites the table under an ACCESS EXCLUSIVE lock: all reads and writes wait for the rewrite.`,
        });
      }
    }
    return hits;
  },
};
