// The read-only envelope of the audit's and the report's catalog and statistics reads:
// BEGIN READ ONLY with SET LOCAL statement_timeout and lock_timeout, always rolled back, so a
// table locked by another session (LOCK TABLE, a plain REFRESH MATERIALIZED VIEW, ALTER TABLE)
// costs at most a timeout instead of hanging the command. (A lost connection is told apart from
// an ordinary query error by isConnectionLost in connection.ts.)
// https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT
import type { Client, ClientBase } from 'pg';

export interface Timeouts {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

/** SET LOCAL statement_timeout and lock_timeout (set_config: bind parameters, not SQL text). */
export async function setLocalTimeouts(client: ClientBase, t: Timeouts): Promise<void> {
  await client.query(
    `SELECT set_config('statement_timeout', $1, true),
            set_config('lock_timeout', $2, true)`,
    [`${Math.max(1, Math.round(t.statementTimeoutMs))}ms`, `${Math.max(1, Math.round(t.lockTimeoutMs))}ms`],
  );
}

/** Run `fn` in BEGIN READ ONLY + SET LOCAL timeouts, then ROLLBACK whatever happened. */
export async function readOnly<T>(client: Client, t: Timeouts, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN READ ONLY');
  try {
    await setLocalTimeouts(client, t);
    return await fn();
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

/** 55P03 lock_not_available or 57014 query_canceled (statement_timeout). */
export function isLockOrTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return code === '55P03' || code === '57014';
}

/**
 * Run `attempt(false)`; when it hits lock_timeout or statement_timeout, roll back to a
 * savepoint and run `attempt(true)`, which must avoid every lock-taking function. Must be
 * called inside a transaction.
 */
export async function withLockFallback<T>(client: Client, attempt: (avoidLocks: boolean) => Promise<T>): Promise<T> {
  await client.query('SAVEPOINT dbopt_lock_fallback');
  try {
    const out = await attempt(false);
    await client.query('RELEASE SAVEPOINT dbopt_lock_fallback');
    return out;
  } catch (err) {
    if (!isLockOrTimeout(err)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT dbopt_lock_fallback');
    return attempt(true);
  }
}

/**
 * Relations another session holds or awaits an ACCESS EXCLUSIVE lock on (the only mode that
 * conflicts with the ACCESS SHARE lock pg_relation_size and pg_get_indexdef take): a SQL
 * fragment for a WITH clause, so the lock-taking functions can skip them.
 */
export const LOCKED_RELATIONS = `locked AS (
  SELECT DISTINCT l.relation AS oid
    FROM pg_locks AS l
   WHERE l.locktype = 'relation'
     AND l.mode = 'AccessExclusiveLock'
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.pid IS DISTINCT FROM pg_backend_pid()
)`;
