// lock-timeout-disabled: DDL that needs an ACCESS EXCLUSIVE lock on an existing table after the
// file turned lock_timeout off. dbopt sets migrate.lockTimeout on its session, so a file only
// loses that protection by disabling it; while the DDL waits for its lock, every later query on
// the table queues behind it.
import {
  altersOfExistingTables,
  createdBefore,
  createdInUnit,
  relName,
  type LintRule,
  type RangeVar,
  type RuleHit,
} from '../types.js';
import { nodeBody, nodeType, type SqlStatement } from '../../../sql/parse.js';

/** Subcommands that take less than ACCESS EXCLUSIVE (SHARE UPDATE EXCLUSIVE). */
const WEAKER = new Set([
  'AT_ValidateConstraint',
  'AT_SetStatistics',
  'AT_ClusterOn',
  'AT_DropCluster',
  'AT_SetOptions',
  'AT_ResetOptions',
  'AT_AttachPartition',
  'AT_DetachPartition',
  'AT_DetachPartitionFinalize',
]);

function disablesLockTimeout(stmt: SqlStatement): boolean | undefined {
  if (nodeType(stmt.node) !== 'VariableSetStmt') return undefined;
  const b = nodeBody(stmt.node);
  if (String(b.name ?? '').toLowerCase() !== 'lock_timeout') return undefined;
  // RESET or DEFAULT go back to the server's setting (0 unless configured), not dbopt's.
  if (b.kind === 'VAR_RESET' || b.kind === 'VAR_SET_DEFAULT' || b.kind === 'VAR_RESET_ALL') return true;
  const arg = ((b.args ?? []) as { A_Const?: { ival?: { ival?: number }; sval?: { sval?: string } } }[])[0]?.A_Const;
  if (!arg) return undefined;
  if (arg.ival) return (arg.ival.ival ?? 0) === 0;
  return /^\s*0+\s*(ms|s|min|h|d)?\s*$/i.test(arg.sval?.sval ?? '');
}

export const lockTimeoutDisabled: LintRule = {
  code: 'lock-timeout-disabled',
  severity: 'warning',
  fix: 'Remove the SET lock_timeout = 0 / RESET lock_timeout; dbopt applies migrate.lockTimeout and retries with backoff.',
  doc: 'lock-timeout-disabled',
  blocks: 'every query on the table queued behind the waiting DDL',
  squawk: 'require-timeout-settings',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    let disabled = false;
    const alters = new Map(altersOfExistingTables(unit).map((a) => [a.stmt, a]));
    for (const stmt of unit.statements) {
      const d = disablesLockTimeout(stmt);
      if (d !== undefined) {
        disabled = d;
        continue;
      }
      if (!disabled) continue;
      let target: string | undefined;
      const alter = alters.get(stmt);
      if (alter && alter.cmds.some((c) => !WEAKER.has(c.subtype))) target = relName(alter.rel);
      const b = nodeBody(stmt.node);
      if (nodeType(stmt.node) === 'TruncateStmt')
        target = relName(((b.relations ?? []) as { RangeVar: RangeVar }[])[0]?.RangeVar);
      if (nodeType(stmt.node) === 'DropStmt' && b.removeType === 'OBJECT_TABLE') target = 'the table';
      if (
        nodeType(stmt.node) === 'RenameStmt' &&
        (b.renameType === 'OBJECT_TABLE' || b.renameType === 'OBJECT_COLUMN')
      ) {
        const rel = b.relation as RangeVar | undefined;
        if (!createdInUnit(createdBefore(unit, stmt), rel)) target = relName(rel);
      }
      if (target) {
        hits.push({
          stmt,
          message: `this DDL waits for an ACCESS EXCLUSIVE lock on ${target} with lock_timeout turned off: while it waits behind a long transaction, every read and write of the table queues behind it.`,
        });
      }
    }
    return hits;
  },
};
