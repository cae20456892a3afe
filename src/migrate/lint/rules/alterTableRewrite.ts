// alter-table-rewrite: SET TABLESPACE, SET LOGGED / UNLOGGED and SET ACCESS METHOD copy the whole
// table (and, for a tablespace move, its indexes) under an ACCESS EXCLUSIVE lock.
import { altersOfExistingTables, relName, type LintRule, type RuleHit } from '../types.js';

const REWRITES: Record<string, string> = {
  AT_SetTableSpace: 'SET TABLESPACE',
  AT_SetLogged: 'SET LOGGED',
  AT_SetUnLogged: 'SET UNLOGGED',
  AT_SetAccessMethod: 'SET ACCESS METHOD',
};

export const alterTableRewrite: LintRule = {
  code: 'alter-table-rewrite',
  severity: 'error',
  fix: 'Do it in a maintenance window, or copy into a new table online (pg_repack, logical replication) instead.',
  doc: 'alter-table-rewrite',
  blocks: 'reads and writes of the table for the whole copy',
  impact: 'rewrite',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        const what = REWRITES[cmd.subtype];
        if (!what) continue;
        hits.push({
          stmt,
          rel,
          message: `${what} copies all of ${relName(rel)} under an ACCESS EXCLUSIVE lock: all reads and writes wait for the copy.`,
        });
      }
    }
    return hits;
  },
};
