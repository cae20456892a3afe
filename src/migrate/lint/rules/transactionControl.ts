// transaction-control: BEGIN, COMMIT, ROLLBACK, SAVEPOINT... in a migration that runs inside
// node-pg-migrate's transaction. A COMMIT there commits half of the migration before dbopt
// records it: a retry after a lock timeout re-runs what was already committed.
import { mustRunOutsideTransaction } from '../../../sql/parse.js';
import { body, kind, type LintRule, type RuleHit } from '../types.js';

const WORD: Record<string, string> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'START TRANSACTION',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

export const transactionControl: LintRule = {
  code: 'transaction-control',
  severity: 'error',
  fix: 'Remove the transaction statements: dbopt already runs the file in one transaction and records it in the same one.',
  doc: 'transaction-control',
  blocks: 'nothing: it breaks atomicity (a retry re-runs what was committed)',
  squawk: 'transaction-nesting, ban-uncommitted-transaction',
  impact: 'none',
  check(unit) {
    const hits: RuleHit[] = [];
    // Files with a CONCURRENTLY statement run outside a transaction: concurrent-in-transaction speaks there.
    const inTransaction = unit.rendered
      ? Boolean(unit.wrappedInTransaction)
      : !unit.statements.some(mustRunOutsideTransaction);
    if (!inTransaction) return hits;
    const control = unit.statements.filter((stmt) => kind(stmt) === 'TransactionStmt');
    if (control.length === 0) return hits;
    const words = control.map(
      (stmt) =>
        `${WORD[String(body(stmt).kind)] ?? 'transaction control'}${unit.rendered ? '' : ` (line ${stmt.line})`}`,
    );
    const ends = control.some((stmt) => /COMMIT|ROLLBACK|PREPARE/.test(String(body(stmt).kind)));
    hits.push({
      stmt: control[0]!,
      message: `${words.join(', ')} inside a migration that dbopt runs in one transaction: ${ends ? 'COMMIT/ROLLBACK ends that transaction early, so what follows runs outside it and a retry after a lock timeout re-runs what was already committed' : 'PostgreSQL ignores a nested BEGIN, so the file is not the unit it appears to be'}.`,
    });
    return hits;
  },
};
