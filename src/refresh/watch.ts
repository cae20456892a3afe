// dbopt refresh-views --watch: a long-running refresher. Each cycle reads the catalog and the
// history, launches the views that are due (a view still refreshing, or waiting on a base
// view that is, is not launched again: overruns do not stack), then sleeps until the next
// due time (at most maxSleepMs, so new views are picked up), waking early when a refresh
// succeeds; a failed view waits out its backoff (due.ts). Losing the server (restart,
// network) is logged and retried with exponential backoff. On abort, the refresh in flight
// is cancelled (its transaction rolls back, the view keeps its rows) and every connection
// is closed before the promise resolves.
// watchViews() is the loop; each step is a function of the Watch state below: connect,
// watched views, due now, launch, record, back off, stop.
import type { Pool } from 'pg';
import { createPool, isTransientConnectionFailure, type ConnectionTarget } from '../db/connection.js';
import { DbOptError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { checkout, runInOrder, Semaphore, type ViewResult } from './engine.js';
import { ensureHistory } from './history.js';
import { UnresponsiveError } from '../db/deadline.js';
import { ensureWatchersTable, recordCycle, recordStopped, watcherName } from './watchers.js';
import { dueAt, scheduleFor, takeSnapshot, type RefreshSettings, type Snapshot } from './snapshot.js';
import { selectNamed, type ManagedView } from './catalog.js';

export interface WatchOptions {
  target: ConnectionTarget;
  settings: RefreshSettings;
  /** Watch only these views (names as on the command line). */
  views?: string[];
  logger?: Logger;
  /** Required: the watcher runs until it aborts. */
  signal: AbortSignal;
  /** Longest sleep between cycles, to notice new views and config-free changes. Default 30s. */
  maxSleepMs?: number;
  /** First reconnect delay; doubles up to maxBackoffMs. Default 1s / 30s. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Called after each view's refresh attempt (tests and benchmarks count cycles). */
  onResult?: (r: ViewResult) => void;
}

export interface WatchResult {
  server: string;
  startedAt: string;
  stoppedAt: string;
  cycles: number;
  refreshed: number;
  failed: number;
  skipped: number;
  reconnects: number;
  /** Cycles cut off because the server gave no answer (database.unresponsiveAfter). */
  stalls: number;
  /** Per view: refreshes and failures while watching. */
  views: Record<string, { refreshed: number; failed: number; lastOutcome?: string }>;
}

/** Sleep until `ms` passes, the signal aborts, or `kick` is called. Leaves no listener behind. */
function sleep(ms: number, signal: AbortSignal, onKick: (kick: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      onKick(() => undefined);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal.addEventListener('abort', done, { once: true });
    onKick(done);
  });
}

/** Views whose refresh must wait: in flight, or depending (at any depth) on one in flight. */
function blockedByFlight(views: ManagedView[], inFlight: Set<string>): Set<string> {
  const byName = new Map(views.map((v) => [v.qualified, v]));
  const blocked = new Set<string>();
  const visit = (name: string, seen: Set<string>): boolean => {
    if (inFlight.has(name)) return true;
    if (seen.has(name)) return false;
    seen.add(name);
    return (byName.get(name)?.dependsOn ?? []).some((d) => visit(d, seen));
  };
  for (const v of views) if (visit(v.qualified, new Set())) blocked.add(v.qualified);
  return blocked;
}

/** What a watcher keeps between cycles. */
interface Watch {
  opts: WatchOptions;
  settings: RefreshSettings;
  logger: Logger;
  result: WatchResult;
  sem: Semaphore;
  /** Views refreshing now: not launched again until they finish (overruns do not stack). */
  inFlight: Set<string>;
  /** The refresh runs in flight, awaited when the watcher stops. */
  runs: Set<Promise<unknown>>;
  /** Wakes the sleep between cycles early (a refresh succeeded). */
  kick: () => void;
  pool?: Pool;
  /** Reconnect delay, doubling per failed try. */
  backoff: number;
  /** When the connection was lost, while it is. */
  lostSince?: number;
  /** Named views, resolved on the first snapshot; those found missing since. */
  named?: { asked: string[]; resolved?: string[]; missing: Set<string> };
  /** Stops the refreshes in flight when the watcher stops, asked to or on a fatal error. */
  stop: AbortController;
  detach: () => void;
  /** This watcher's row in dbopt.refresh_watchers, stamped after each completed cycle. */
  watcher: string;
  /** A stall not yet written there (the server was not answering when it happened). */
  unrecordedStall?: string;
}

export async function watchViews(opts: WatchOptions): Promise<WatchResult> {
  const w = startWatch(opts);
  w.logger.info(
    `Watching materialized views on ${opts.target.display} (concurrency ${w.settings.concurrency}); ` +
      'SIGTERM or Ctrl-C stops.',
  );
  let fatal: { err: unknown } | undefined;
  while (!opts.signal.aborted) {
    let sleepMs: number;
    try {
      const pool = await connect(w);
      const snap = await takeSnapshot(pool, w.settings);
      w.result.cycles++;
      const next = dueNow(watchedViews(w, snap), w.inFlight, w.settings, snap, opts.maxSleepMs ?? 30_000);
      if (next.due.length > 0) launch(w, pool, next.due);
      sleepMs = next.sleepMs;
      await recordCycle(pool, w.watcher, w.unrecordedStall);
      w.unrecordedStall = undefined;
    } catch (err) {
      if (opts.signal.aborted) break;
      const retryIn = backOff(w, err);
      if (retryIn === undefined) {
        fatal = { err };
        break;
      }
      sleepMs = retryIn;
    }
    await sleep(sleepMs, opts.signal, (k) => (w.kick = k));
  }
  await stopWatch(w, fatal);
  if (fatal) throw fatal.err;
  w.result.stoppedAt = new Date().toISOString();
  return w.result;
}

function startWatch(opts: WatchOptions): Watch {
  const { signal } = opts;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  // Named views are resolved once, on the first snapshot (an unknown name is a usage error,
  // exit 2); a named view dropped later is skipped with a warning, not a reason to stop.
  const asked = opts.views && opts.views.length > 0 ? opts.views : undefined;
  return {
    opts,
    settings: opts.settings,
    logger: opts.logger ?? silentLogger,
    result: {
      server: opts.target.display,
      startedAt: new Date().toISOString(),
      stoppedAt: '',
      cycles: 0,
      refreshed: 0,
      failed: 0,
      skipped: 0,
      reconnects: 0,
      stalls: 0,
      views: {},
    },
    sem: new Semaphore(opts.settings.concurrency),
    inFlight: new Set(),
    runs: new Set(),
    kick: () => undefined,
    backoff: opts.backoffMs ?? 1000,
    named: asked ? { asked, missing: new Set() } : undefined,
    stop,
    detach: () => signal.removeEventListener('abort', onAbort),
    watcher: watcherName(),
  };
}

/** Step "connect": a pool (and the history table) when there is none, saying so after a loss. */
async function connect(w: Watch): Promise<Pool> {
  if (w.pool) return w.pool;
  const p = await createPool(w.opts.target, w.settings.concurrency + 1);
  w.pool = p;
  const c = await checkout(p);
  try {
    await ensureHistory(c, w.opts.target.display);
    await ensureWatchersTable(c);
  } finally {
    c.release();
  }
  if (w.lostSince !== undefined) {
    w.result.reconnects++;
    w.logger.info(`Reconnected to ${w.opts.target.display} after ${Math.round((Date.now() - w.lostSince) / 1000)}s.`);
  }
  w.lostSince = undefined;
  w.backoff = w.opts.backoffMs ?? 1000;
  return p;
}

/** Step "watched views": all managed views, or the named ones still there (saying when one goes or comes back). */
function watchedViews(w: Watch, snap: Snapshot): ManagedView[] {
  const named = w.named;
  if (!named) return snap.views;
  named.resolved ??= selectNamed(snap.views, named.asked).map((v) => v.qualified);
  const present = new Set(snap.views.map((v) => v.qualified));
  for (const name of named.resolved) {
    if (!present.has(name) && !named.missing.has(name)) {
      named.missing.add(name);
      w.logger.warn(
        `${name} is no longer a managed materialized view (dropped, renamed or excluded); ` +
          'skipping it while it is gone. Restart the watcher without it to stop watching it.',
      );
    } else if (present.has(name) && named.missing.delete(name)) {
      w.logger.info(`${name} is back; watching it again.`);
    }
  }
  const wanted = new Set(named.resolved);
  return snap.views.filter((v) => wanted.has(v.qualified));
}

/** Step "due now": the views to launch, and how long to sleep until the next one is due (at most maxSleepMs). */
function dueNow(
  views: ManagedView[],
  inFlight: Set<string>,
  settings: RefreshSettings,
  snap: Snapshot,
  maxSleepMs: number,
): { due: ManagedView[]; sleepMs: number } {
  const blocked = blockedByFlight(views, inFlight);
  const due: ManagedView[] = [];
  let sleepMs = maxSleepMs;
  for (const v of views) {
    if (blocked.has(v.qualified)) continue;
    const wait = dueAt(settings, v.qualified, snap).getTime() - snap.now.getTime();
    if (wait <= 0) due.push(v);
    else sleepMs = Math.min(sleepMs, wait);
  }
  return { due, sleepMs };
}

/** Step "launch": refresh the due views in dependency order, without waiting for them. */
function launch(w: Watch, pool: Pool, due: ManagedView[]): void {
  for (const v of due) w.inFlight.add(v.qualified);
  const run = runInOrder(due, w.sem, {
    pool,
    statementTimeoutMs: w.settings.statementTimeoutMs,
    lockTimeoutMs: w.settings.lockTimeoutMs,
    checkDue: true,
    scheduleOf: (v) => scheduleFor(w.settings, v),
    signal: w.stop.signal,
    onResult: (r) => {
      w.inFlight.delete(r.view);
      record(w, r);
      // The server went away mid-refresh: reconnect before the next cycle.
      if (r.connectionLost && w.pool === pool) dropPool(w);
      // Only a success changes what is due soon (its dependents, its own next time).
      // Waking on a failure or a skip would retry it at once: a view whose query fails,
      // or one held by another refresher, would spin. A failed view is retried after
      // its backoff (due.ts), noticed at the latest after maxSleep.
      if (r.outcome === 'refreshed') w.kick();
    },
  }).catch((err: unknown) => {
    for (const v of due) w.inFlight.delete(v.qualified);
    w.logger.warn(`refresh run failed: ${(err as Error).message}`);
  });
  w.runs.add(run);
  void run.finally(() => w.runs.delete(run));
}

/** Step "record": count and log each view's outcome. */
function record(w: Watch, r: ViewResult): void {
  const v = (w.result.views[r.view] ??= { refreshed: 0, failed: 0 });
  v.lastOutcome = r.outcome;
  if (r.outcome === 'refreshed') {
    w.result.refreshed++;
    v.refreshed++;
    w.logger.info(`${r.view}: refreshed (${r.mode}, ${Math.round(r.durationMs ?? 0)}ms)`);
  } else if (r.outcome === 'failed') {
    w.result.failed++;
    v.failed++;
    if (r.unresponsive || /no answer from/.test(`${r.why} ${r.error ?? ''}`))
      stalled(w, `${r.view}: the refresh got no answer (${r.why}); reconnecting`);
    else if (!r.connectionLost) w.logger.warn(`${r.view}: refresh failed: ${r.why}`);
  } else {
    w.result.skipped++;
    w.logger.debug(`${r.view}: ${r.outcome}: ${r.why}`);
  }
  w.opts.onResult?.(r);
}

/** A cycle or a refresh cut off because the server gave no answer: logged, kept for the watchers table. */
function stalled(w: Watch, what: string): void {
  w.result.stalls++;
  w.unrecordedStall = what;
  w.logger.warn(`stall: ${what}`);
}

function dropPool(w: Watch): void {
  const old = w.pool;
  w.pool = undefined;
  // Clients still checked out fail on their own; do not wait for them here.
  void old?.end().catch(() => undefined);
}

/**
 * Step "back off": after a failed cycle, how long to wait before reconnecting (jittered,
 * doubling up to maxBackoffMs), or undefined when retrying cannot help. Only the server going
 * away is retried; a wrong password, a missing database, a bad view name or missing
 * privileges would fail the same way forever.
 */
function backOff(w: Watch, err: unknown): number | undefined {
  const cause = err instanceof DbOptError ? (err.cause ?? err) : err;
  const unresponsive = err instanceof UnresponsiveError;
  if (!unresponsive && !isTransientConnectionFailure(cause)) return undefined;
  w.lostSince ??= Date.now();
  dropPool(w);
  const why = (err as Error).message;
  const retry = `reconnecting in ${(w.backoff / 1000).toFixed(1)}s`;
  if (unresponsive) stalled(w, `cycle ${w.result.cycles + 1} exceeded its bound: ${why}; ${retry}`);
  else w.logger.warn(`lost the connection to ${w.opts.target.display} (${why}); ${retry}`);
  const sleepMs = w.backoff * (0.8 + Math.random() * 0.4);
  w.backoff = Math.min(w.backoff * 2, w.opts.maxBackoffMs ?? 30_000);
  return sleepMs;
}

/**
 * Step "stop" (asked to, or on an error that retrying cannot fix): cancel the refreshes in
 * flight (pg_cancel_backend), wait for them to roll back and record 'cancelled', then close
 * every connection.
 */
async function stopWatch(w: Watch, fatal: { err: unknown } | undefined): Promise<void> {
  const { signal } = w.opts;
  w.detach();
  w.stop.abort(signal.aborted ? signal.reason : fatal?.err);
  await Promise.allSettled([...w.runs]);
  if (w.pool) await recordStopped(w.pool, w.watcher).catch(() => undefined);
  if (w.pool) await w.pool.end().catch(() => undefined);
}
