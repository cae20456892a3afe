// The refresh engine: one view at a time under a transaction-scoped advisory lock (so two
// refreshers anywhere in the fleet never refresh one view at once, and it works behind
// transaction pooling), and a run of many views in dependency order with bounded parallelism.
// https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS
import { UnresponsiveError } from '../db/deadline.js';
import type { Pool, PoolClient } from 'pg';
import { isConnectionLost } from '../db/connection.js';
import { setLocalTimeouts } from '../db/envelope.js';
import { formatPgError, isPgError } from '../db/pgerror.js';
import { chooseMode, type ManagedView, type RefreshMode } from './catalog.js';
import { dueState, notDueWhy } from './due.js';
import { finishAttempt, insertRunning, markInterrupted, readHistory } from './history.js';

export type ViewOutcome =
  'refreshed' | 'skipped-not-due' | 'skipped-elsewhere' | 'skipped-dependency-failed' | 'failed' | 'cancelled';

export interface ViewResult {
  view: string;
  outcome: ViewOutcome;
  mode: RefreshMode;
  /** Why this outcome (and for a refresh, why this mode). */
  why: string;
  schedule: string;
  dependsOn: string[];
  durationMs?: number;
  /** Readers blocked by a plain refresh, and how to avoid it. */
  warning?: string;
  /** The PostgreSQL error in full, for failed refreshes. */
  error?: string;
  /** The failure was the connection going away (server restart, network). */
  connectionLost?: boolean;
  /** The server stopped answering (deadline or database.unresponsiveAfter): what dbopt said. */
  unresponsive?: { message: string; hint?: string };
}

export interface EngineSettings {
  pool: Pool;
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  /** Refresh only when still due once the lock is held (scheduled runs); --all and names skip the check. */
  checkDue: boolean;
  scheduleOf: (view: string) => string;
  signal?: AbortSignal;
  /** Called as each view finishes (progress lines, watch logging). */
  onResult?: (r: ViewResult) => void;
}

const hooked = new WeakSet<PoolClient>();
/** A checked-out client has no error listener in pg-pool; a server restart must not crash us. */
export async function checkout(pool: Pool): Promise<PoolClient> {
  const client = await pool.connect();
  if (!hooked.has(client)) {
    hooked.add(client);
    client.on('error', () => undefined);
  }
  return client;
}

function describeError(err: unknown): string {
  if (isPgError(err)) return formatPgError(err).join('\n');
  return String((err as Error)?.message ?? err);
}

function explainFailure(err: unknown, view: string, mode: RefreshMode, s: EngineSettings): string {
  if (err instanceof UnresponsiveError)
    return `${err.message}; the view keeps its previous rows unless the refresh commits when the server wakes`;
  const code = (err as { code?: string })?.code;
  const lock = mode === 'concurrent' ? 'EXCLUSIVE' : 'ACCESS EXCLUSIVE';
  if (code === '55P03') {
    return (
      `could not take the ${lock} lock on ${view} within lock_timeout (${s.lockTimeoutMs}ms): another session holds a conflicting lock. ` +
      'Find it in pg_locks/pg_stat_activity, or raise refresh.lockTimeout.'
    );
  }
  if (code === '57014') {
    return s.signal?.aborted
      ? 'cancelled on request; the view keeps its previous rows'
      : `the refresh ran longer than statement_timeout (${s.statementTimeoutMs}ms) and was cancelled; the view keeps its previous rows. Raise refresh.statementTimeout.`;
  }
  if (isConnectionLost(err))
    return `lost the connection to the server during the refresh; the view keeps its previous rows`;
  return `the view's query failed: ${(err as Error)?.message ?? String(err)}`;
}

/**
 * Refresh one view: BEGIN; try the view's advisory lock; re-check it is still due; commit a
 * 'running' history row from another connection; SET LOCAL timeouts; SAVEPOINT; REFRESH; record success
 * in the same transaction; COMMIT.
 */
export async function refreshOne(view: ManagedView, s: EngineSettings): Promise<ViewResult> {
  const schedule = s.scheduleOf(view.qualified);
  const planned = chooseMode(view);
  const base = { view: view.qualified, schedule, dependsOn: view.dependsOn };
  if (s.signal?.aborted) return { ...base, outcome: 'cancelled', mode: planned.mode, why: 'stopped before it started' };
  let client: PoolClient;
  try {
    client = await checkout(s.pool);
  } catch (err) {
    return {
      ...base,
      outcome: 'failed',
      mode: planned.mode,
      why: `cannot connect: ${(err as Error).message}`,
      error: describeError(err),
      connectionLost: true,
    };
  }
  let releaseErr: Error | undefined;
  let attempt: { id: string } | undefined;
  let mode = planned.mode;
  let warning = planned.warning;
  let why = planned.why;
  let t0 = 0;
  let pid = 0;
  const cancel = (): void => {
    // Cancel the REFRESH from another connection: its transaction rolls back and the view
    // keeps its previous rows. Waiting could take up to statement_timeout.
    if (pid) void s.pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
  };
  try {
    const locked = await lockView(client, view, s, schedule);
    pid = locked.pid;
    if ('stop' in locked) return { ...base, mode, ...locked.stop };
    const row = locked.row;
    ({ mode, why, warning } = chooseMode({ ...view, populated: row.populated }));
    await markInterrupted(client, view.qualified);
    await setLocalTimeouts(client, s);
    // If dbopt dies (kill -9, OOM) the server would otherwise run the REFRESH to the end,
    // holding the view's lock (ACCESS EXCLUSIVE for a plain one: readers wait) and the
    // advisory lock (the next run says "refreshing elsewhere"). With this it notices the
    // closed socket within a second and aborts. PostgreSQL 14+.
    if (row.version >= 140000) await client.query(`SELECT set_config('client_connection_check_interval', '1s', true)`);
    attempt = await insertRunning(s.pool, view.qualified, mode, pid);
    s.signal?.addEventListener('abort', cancel, { once: true });
    // A stop requested before this point found no REFRESH to cancel (pg_cancel_backend on an
    // idle-in-transaction backend is ignored): do not start one.
    if (s.signal?.aborted) {
      await client.query('ROLLBACK');
      await finishAttempt(s.pool, attempt.id, 'cancelled', 0, 'stopped before the refresh started').catch(
        () => undefined,
      );
      return {
        ...base,
        outcome: 'cancelled',
        mode,
        why: 'stopped before the refresh started; the view keeps its previous rows',
        warning,
      };
    }
    // An error aborts the transaction on the spot, releasing its locks then (not at ROLLBACK).
    // In a subtransaction only the subtransaction aborts, so the advisory lock, taken at top
    // level, is held until the failure is recorded (recordFailure).
    await client.query('SAVEPOINT refresh');
    t0 = performance.now();
    await client.query(`REFRESH MATERIALIZED VIEW ${mode === 'concurrent' ? 'CONCURRENTLY ' : ''}${view.sqlName}`);
    const durationMs = performance.now() - t0;
    await finishAttempt(client, attempt.id, 'ok', durationMs);
    await client.query('COMMIT');
    return { ...base, outcome: 'refreshed', mode, why, warning, durationMs };
  } catch (err) {
    const failure = await recordFailure(err, { view, mode, s, attempt, t0 }, client);
    releaseErr = failure.releaseErr;
    return { ...base, mode, warning, ...failure.result };
  } finally {
    s.signal?.removeEventListener('abort', cancel);
    client.release(releaseErr);
  }
}

type LockRow = { locked: boolean; pid: number; now: Date; version: number; populated: boolean | null };
/** The refresher stops before refreshing: this outcome, and why. */
type Stopped = { pid: number; stop: Pick<ViewResult, 'outcome' | 'why'> };
/** What a failed refresh had got to: its history row (attempt) and when the REFRESH began (t0, 0 if not). */
type FailedAttempt = { view: ManagedView; mode: RefreshMode; s: EngineSettings; attempt?: { id: string }; t0: number };

/**
 * BEGIN, then try the view's transaction-scoped advisory lock, and check the view still
 * exists and (scheduled runs) is still due: another refresher may have finished it (or failed
 * it, starting a backoff) between our plan and our lock. `stop` is the outcome when this
 * refresher should not go on (the transaction is rolled back then).
 */
async function lockView(
  client: PoolClient,
  view: ManagedView,
  s: EngineSettings,
  schedule: string,
): Promise<{ pid: number; row: LockRow & { populated: boolean } } | Stopped> {
  await client.query('BEGIN');
  const lock = await client.query<LockRow>(
    `
    SELECT pg_try_advisory_xact_lock(hashtextextended('dbopt.refresh:' || $1, 0)) AS locked,
           pg_backend_pid() AS pid,
           clock_timestamp() AS now,
           current_setting('server_version_num')::int AS version,
           (SELECT relispopulated FROM pg_class WHERE oid = $2) AS populated`,
    [view.qualified, view.oid],
  );
  const row = lock.rows[0]!;
  const stop = async (outcome: ViewResult['outcome'], why: string): Promise<Stopped> => {
    await client.query('ROLLBACK');
    return { pid: row.pid, stop: { outcome, why } };
  };
  if (!row.locked) return stop('skipped-elsewhere', "refreshing elsewhere: another refresher holds this view's lock");
  if (row.populated === null) return stop('failed', `${view.qualified} no longer exists (dropped during the run)`);
  if (s.checkDue) {
    const h = (await readHistory(client, [view.qualified])).get(view.qualified);
    const due = dueState(schedule, h, row.now);
    if (due.at.getTime() > row.now.getTime()) {
      const why = due.backoff
        ? notDueWhy(schedule, due)
        : `refreshed elsewhere at ${h?.lastSuccess?.toISOString()}; next due ${due.at.toISOString()}`;
      return stop('skipped-not-due', why);
    }
  }
  return { pid: row.pid, row: { ...row, populated: row.populated } };
}

/**
 * A refresh that failed (or was cancelled): record it in the history and roll back, and say
 * which error, if any, the client must be released with (a lost connection is not reused).
 */
async function recordFailure(
  err: unknown,
  at: FailedAttempt,
  client: PoolClient,
): Promise<{
  result: Pick<ViewResult, 'outcome' | 'why' | 'durationMs' | 'error' | 'connectionLost' | 'unresponsive'>;
  releaseErr?: Error;
}> {
  const { s, attempt, t0 } = at;
  let releaseErr: Error | undefined;
  const durationMs = t0 ? performance.now() - t0 : 0;
  const lost = isConnectionLost(err);
  const cancelled = Boolean(s.signal?.aborted) && (err as { code?: string })?.code === '57014';
  const message = explainFailure(err, at.view.qualified, at.mode, s);
  // Record the outcome while this transaction still holds the view's advisory lock (see
  // SAVEPOINT in refreshOne): once it is released another refresher may take it and mark this
  // still-'running' row interrupted, row-locking it until its own refresh commits, and this
  // UPDATE would wait that long. The row was committed on its own, so another connection
  // may update it (not this one: a late pg_cancel_backend could hit the UPDATE).
  if (attempt) {
    await finishAttempt(s.pool, attempt.id, cancelled ? 'cancelled' : 'failed', durationMs, describeError(err)).catch(
      () => undefined,
    );
  }
  if (lost) releaseErr = err as Error;
  else await client.query('ROLLBACK').catch((e: Error) => (releaseErr = e));
  const result = {
    outcome: cancelled ? ('cancelled' as const) : ('failed' as const),
    why: message,
    durationMs: t0 ? durationMs : undefined,
    error: describeError(err),
    connectionLost: lost || undefined,
    unresponsive: err instanceof UnresponsiveError ? { message: err.message, hint: err.hint } : undefined,
  };
  return { result, releaseErr };
}

/** FIFO counting semaphore: at most `size` refreshes at once. */
export class Semaphore {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }
  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free++;
  }
}

/**
 * Refresh `views` (given in dependency order): each starts once the views it depends on in
 * this run have succeeded; independent ones run in parallel up to the semaphore's size.
 * A dependency that failed stops its dependents; one refreshing elsewhere leaves them to that
 * refresher (refreshing them here would read the base view's old rows).
 */
export async function runInOrder(views: ManagedView[], sem: Semaphore, s: EngineSettings): Promise<ViewResult[]> {
  const promises = new Map<string, Promise<ViewResult>>();
  for (const view of views) {
    const deps = view.dependsOn.map((d) => promises.get(d)).filter((p): p is Promise<ViewResult> => p !== undefined);
    const task = Promise.all(deps)
      .then(async (depResults): Promise<ViewResult> => {
        const schedule = s.scheduleOf(view.qualified);
        const planned = chooseMode(view);
        const base = { view: view.qualified, schedule, dependsOn: view.dependsOn, mode: planned.mode };
        const failed = depResults.find(
          (d) => d.outcome === 'failed' || d.outcome === 'skipped-dependency-failed' || d.outcome === 'cancelled',
        );
        if (failed) {
          return {
            ...base,
            outcome: 'skipped-dependency-failed',
            why: `not refreshed: it reads ${failed.view}, which ${failed.outcome === 'failed' ? 'failed' : failed.outcome === 'cancelled' ? 'was cancelled' : 'was not refreshed'} in this run`,
          };
        }
        const elsewhere = depResults.find((d) => d.outcome === 'skipped-elsewhere');
        if (elsewhere) {
          return {
            ...base,
            outcome: 'skipped-elsewhere',
            why: `refreshing elsewhere: it reads ${elsewhere.view}, which another refresher is refreshing; that refresher refreshes it next`,
          };
        }
        await sem.acquire();
        try {
          return await refreshOne(view, s);
        } finally {
          sem.release();
        }
      })
      .then((r) => {
        s.onResult?.(r);
        return r;
      });
    promises.set(view.qualified, task);
  }
  return Promise.all(views.map((v) => promises.get(v.qualified)!));
}
