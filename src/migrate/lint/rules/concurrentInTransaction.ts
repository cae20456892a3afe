// concurrent-in-transaction: CREATE/DROP INDEX CONCURRENTLY or REINDEX CONCURRENTLY where a
// transaction would surround it (an explicit BEGIN, node-pg-migrate's implicit one, or other
// statements in the same file that dbopt could then not run atomically).
import { nodeType, mustRunOutsideTransaction } from '../../../sql/parse.js';
import { type LintRule, type RuleHit } from '../types.js';

export const concurrentInTransaction: LintRule = {
  code: 'concurrent-in-transaction',
  severity: 'error',
  fatal: true,
  fix: 'Put the CONCURRENTLY statement alone in a migration file of its own, without BEGIN/COMMIT (in JS, call pgm.noTransaction()).',
  doc: 'concurrent-in-transaction',
  blocks: 'nothing: PostgreSQL refuses the statement (or the file is not atomic)',
  squawk: 'ban-concurrent-index-creation-in-transaction',
  impact: 'none',
  check(unit, facts) {
    const hits: RuleHit[] = [];
    const concurrent = unit.statements.filter(mustRunOutsideTransaction);
    if (concurrent.length === 0) return hits;
    const others = unit.statements.filter(
      (s) =>
        !mustRunOutsideTransaction(s) &&
        nodeType(s.node) !== 'VariableSetStmt' &&
        nodeType(s.node) !== 'TransactionStmt',
    );
    for (const stmt of concurrent) {
      const idx = unit.statements.indexOf(stmt);
      if (facts.beginAt >= 0 && facts.beginAt < idx) {
        const begin = unit.statements[facts.beginAt]!;
        hits.push({
          stmt,
          message: `CONCURRENTLY cannot run inside a transaction block, and this file opens one with BEGIN at line ${begin.line}: PostgreSQL refuses the statement.`,
        });
      } else if (unit.rendered && unit.wrappedInTransaction) {
        hits.push({
          stmt,
          message:
            'CONCURRENTLY cannot run inside a transaction block, and node-pg-migrate wraps this migration in one: PostgreSQL refuses the statement.',
        });
      } else if (others.length > 0 || concurrent.length > 1) {
        const other = others[0] ?? concurrent.find((s) => s !== stmt)!;
        hits.push({
          stmt,
          message: `CONCURRENTLY must run outside a transaction, so the other statements of this file (line ${other.line}) would not be atomic with it: a failure half-way leaves the migration half-applied and unrecorded.`,
        });
      }
    }
    return hits;
  },
};
