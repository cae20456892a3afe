// detach-partition-not-concurrent: DETACH PARTITION without CONCURRENTLY (PostgreSQL 14+) takes
// an ACCESS EXCLUSIVE lock on the partitioned table.
import { altersOfExistingTables, relName, type LintRule, type RangeVar, type RuleHit } from '../types.js';

export const detachPartition: LintRule = {
  code: 'detach-partition-not-concurrent',
  severity: 'error',
  fix: 'Write ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY, alone in a migration file of its own.',
  doc: 'detach-partition-not-concurrent',
  blocks: 'reads and writes of the whole partitioned table',
  squawk: 'require-concurrent-partition-detach',
  impact: 'lock',
  check(unit) {
    const hits: RuleHit[] = [];
    for (const { stmt, rel, cmds } of altersOfExistingTables(unit)) {
      for (const cmd of cmds) {
        if (cmd.subtype !== 'AT_DetachPartition') continue;
        const pc = cmd.def?.PartitionCmd as { name?: RangeVar; concurrent?: boolean } | undefined;
        if (pc?.concurrent) continue;
        hits.push({
          stmt,
          rel,
          message: `DETACH PARTITION ${relName(pc?.name)} without CONCURRENTLY takes an ACCESS EXCLUSIVE lock on ${relName(rel)}: all reads and writes of every partition wait.`,
        });
      }
    }
    return hits;
  },
};
