// add-unique-constraint: ADD CONSTRAINT ... UNIQUE / PRIMARY KEY / EXCLUDE (or an inline UNIQUE
// or PRIMARY KEY on ADD COLUMN) builds its index under the ALTER TABLE's ACCESS EXCLUSIVE lock.
// `... UNIQUE USING INDEX i` adopts an index built CONCURRENTLY beforehand: instant.
import { altersOfExistingTables, relName, type ColumnDef, type LintRule, type RuleHit } from '../types.js';

const BUILDS = new Map([
  ['CONSTR_UNIQUE', 'UNIQUE'],
  ['CONSTR_PRIMARY', 'PRIMARY KEY'],
  ['CONSTR_EXCLUSION', 'EXCLUDE'],
]);

export const uniqueConstraint: LintRule = {
  code: 'add-unique-constraint',
  severity: 'error',
  fix: 'Build the index with CREATE UNIQUE INDEX CONCURRENTLY in its own file, then ADD CONSTRAINT ... UNIQUE (or PRIMARY KEY) USING INDEX it.',
  doc: 'add-unique-constraint',
  blocks: 'reads and writes of the table for the whole index build',
  squawk: 'disallowed-unique-constraint, adding-serial-primary-key-field',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        const cons: { contype: string; conname?: string; indexname?: string }[] = [];
        if (cmd.subtype === 'AT_AddConstraint' && cmd.def?.Constraint)
          cons.push(cmd.def.Constraint as { contype: string });
        if (cmd.subtype === 'AT_AddColumn') {
          for (const c of (cmd.def?.ColumnDef as ColumnDef | undefined)?.constraints ?? [])
            cons.push(c.Constraint as { contype: string });
        }
        for (const con of cons) {
          const what = BUILDS.get(con.contype);
          if (!what || con.indexname) continue;
          hits.push({
            stmt,
            rel,
            message: `ADD ${con.conname ? `CONSTRAINT ${con.conname} ` : ''}${what} builds a unique index on ${relName(rel)} under an ACCESS EXCLUSIVE lock: all reads and writes of the table wait for the whole build.`,
          });
        }
      }
    }
    return hits;
  },
};
