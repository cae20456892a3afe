// dbopt refresh-views --watch: a long-running refresher. Each cycle reads the catalog and the
// history, launches the views that are due (a view still refreshing, or waiting on a base
// view that is, is not launched again: overruns do not stack), then sleeps until the next
// due time (at most maxSleepMs, so new views are picked up), waking early when a refresh
// succeeds; a failed view waits out its backoff (due.ts). Losing the server (restart,
// network) is logged and retried with exponential backoff. On abort, the refresh in flight
// is cancelled (its transaction rolls back, the view keeps its rows) and every connection
// is closed before the promise resolves.
import type { Pool } from 'pg';
import { createPool, isConnectionError, isConnectionLost, type ConnectionTarget } from '../db/connection.js';
import { DbOptError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { checkout, runInOrder, Semaphore, type ViewResult } from './engine.js';
import { ensureHistory } from './history.js';
import { UnresponsiveError } from '../db/deadline.js';
import { ensureWatchersTable, recordCycle, recordStopped, watcherName } from './watchers.js';
import { dueAt, scheduleFor, takeSnapshot, type RefreshSettings } from './snapshot.js';
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

export async function watchViews(opts: WatchOptions): Promise<WatchResult> {
  const logger = opts.logger ?? silentLogger;
  const { signal, settings } = opts;
  const maxSleep = opts.maxSleepMs ?? 30_000;
  const firstBackoff = opts.backoffMs ?? 1000;
  const maxBackoff = opts.maxBackoffMs ?? 30_000;
  const result: WatchResult = {
    server: opts.target.display, startedAt: new Date().toISOString(), stoppedAt: '',
    cycles: 0, refreshed: 0, failed: 0, skipped: 0, reconnects: 0, stalls: 0, views: {},
  };
  const sem = new Semaphore(settings.concurrency);
  const inFlight = new Set<string>();
  const runs = new Set<Promise<unknown>>();
  let kick: () => void = () => undefined;
  let pool: Pool | undefined;
  let backoff = firstBackoff;
  let lostSince: number | undefined;
  // Named views are resolved once, on the first snapshot (an unknown name is a usage error,
  // exit 2); a named view dropped later is skipped with a warning, not a reason to stop.
  const named = opts.views && opts.views.length > 0 ? opts.views : undefined;
  let watchedNames: string[] | undefined;
  const missing = new Set<string>();
  // Stops the refreshes in flight when the watcher stops, asked to or on a fatal error.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  let fatal: { err: unknown } | undefined;
  // Written to dbopt.refresh_watchers with the next completed cycle, once the server answers.
  const watcher = watcherName();
  let unrecordedStall: string | undefined;
  const stalled = (what: string): void => {
    result.stalls++;
    unrecordedStall = what;
    logger.warn(`stall: ${what}`);
  };

  const dropPool = (): void => {
    const old = pool;
    pool = undefined;
    // Clients still checked out fail on their own; do not wait for them here.
    void old?.end().catch(() => undefined);
  };
  const record = (r: ViewResult): void => {
    const v = (result.views[r.view] ??= { refreshed: 0, failed: 0 });
    v.lastOutcome = r.outcome;
    if (r.outcome === 'refreshed') {
      result.refreshed++;
      v.refreshed++;
      logger.info(`${r.view}: refreshed (${r.mode}, ${Math.round(r.durationMs ?? 0)}ms)`);
    } else if (r.outcome === 'failed') {
      result.failed++;
      v.failed++;
      if (/no answer from/.test(`${r.why} ${r.error ?? ''}`)) stalled(`${r.view}: the refresh got no answer (${r.why}); reconnecting`);
      else if (!r.connectionLost) logger.warn(`${r.view}: refresh failed: ${r.why}`);
    } else {
      result.skipped++;
      logger.debug(`${r.view}: ${r.outcome}: ${r.why}`);
    }
    opts.onResult?.(r);
  };

  logger.info(`Watching materialized views on ${opts.target.display} (concurrency ${settings.concurrency}); SIGTERM or Ctrl-C stops.`);
  while (!signal.aborted) {
    let sleepMs = maxSleep;
    try {
      if (!pool) {
        const p = await createPool(opts.target, settings.concurrency + 1);
        pool = p;
        const c = await checkout(p);
        try {
          await ensureHistory(c, opts.target.display);
          await ensureWatchersTable(c);
        } finally {
          c.release();
        }
        if (lostSince !== undefined) {
          result.reconnects++;
          logger.info(`Reconnected to ${opts.target.display} after ${Math.round((Date.now() - lostSince) / 1000)}s.`);
        }
        lostSince = undefined;
        backoff = firstBackoff;
      }
      const snap = await takeSnapshot(pool, settings);
      result.cycles++;
      let watched = snap.views;
      if (named) {
        watchedNames ??= selectNamed(snap.views, named).map((v) => v.qualified);
        const present = new Set(snap.views.map((v) => v.qualified));
        for (const name of watchedNames) {
          if (!present.has(name) && !missing.has(name)) {
            missing.add(name);
            logger.warn(`${name} is no longer a managed materialized view (dropped, renamed or excluded); skipping it while it is gone. Restart the watcher without it to stop watching it.`);
          } else if (present.has(name) && missing.delete(name)) {
            logger.info(`${name} is back; watching it again.`);
          }
        }
        const wanted = new Set(watchedNames);
        watched = snap.views.filter((v) => wanted.has(v.qualified));
      }
      const blocked = blockedByFlight(watched, inFlight);
      const due: ManagedView[] = [];
      for (const v of watched) {
        if (blocked.has(v.qualified)) continue;
        const at = dueAt(settings, v.qualified, snap);
        const wait = at.getTime() - snap.now.getTime();
        if (wait <= 0) due.push(v);
        else sleepMs = Math.min(sleepMs, wait);
      }
      if (due.length > 0) {
        for (const v of due) inFlight.add(v.qualified);
        const currentPool = pool;
        const run = runInOrder(due, sem, {
          pool: currentPool,
          statementTimeoutMs: settings.statementTimeoutMs,
          lockTimeoutMs: settings.lockTimeoutMs,
          checkDue: true,
          scheduleOf: (v) => scheduleFor(settings, v),
          signal: stop.signal,
          onResult: (r) => {
            inFlight.delete(r.view);
            record(r);
            // The server went away mid-refresh: reconnect before the next cycle.
            if (r.connectionLost && pool === currentPool) dropPool();
            // Only a success changes what is due soon (its dependents, its own next time).
            // Waking on a failure or a skip would retry it at once: a view whose query fails,
            // or one held by another refresher, would spin. A failed view is retried after
            // its backoff (due.ts), noticed at the latest after maxSleep.
            if (r.outcome === 'refreshed') kick();
          },
        }).catch((err: unknown) => {
          for (const v of due) inFlight.delete(v.qualified);
          logger.warn(`refresh run failed: ${(err as Error).message}`);
        });
        runs.add(run);
        void run.finally(() => runs.delete(run));
      }
      await recordCycle(pool, watcher, unrecordedStall);
      unrecordedStall = undefined;
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof UnresponsiveError) {
        lostSince ??= Date.now();
        dropPool();
        stalled(`cycle ${result.cycles + 1} exceeded its bound: ${err.message}; reconnecting in ${(backoff / 1000).toFixed(1)}s`);
        sleepMs = backoff * (0.8 + Math.random() * 0.4);
        backoff = Math.min(backoff * 2, maxBackoff);
        await sleep(sleepMs, signal, (k) => (kick = k));
        continue;
      }
      // Only the server going away is retried; a wrong password, a missing database, a bad
      // view name or missing privileges would fail the same way forever.
      const cause = err instanceof DbOptError ? (err.cause ?? err) : err;
      const code = (cause as { code?: string })?.code ?? '';
      if (!(isConnectionLost(cause) || isConnectionError(cause)) || ['28P01', '28000', '3D000'].includes(code)) {
        fatal = { err };
        break;
      }
      lostSince ??= Date.now();
      dropPool();
      logger.warn(`lost the connection to ${opts.target.display} (${(err as Error).message}); reconnecting in ${(backoff / 1000).toFixed(1)}s`);
      sleepMs = backoff * (0.8 + Math.random() * 0.4);
      backoff = Math.min(backoff * 2, maxBackoff);
    }
    await sleep(sleepMs, signal, (k) => (kick = k));
  }
  // Stopping (asked to, or on an error that retrying cannot fix): cancel the refreshes in
  // flight (pg_cancel_backend), wait for them to roll back and record 'cancelled', then close
  // every connection.
  signal.removeEventListener('abort', onAbort);
  stop.abort(signal.aborted ? signal.reason : fatal?.err);
  await Promise.allSettled([...runs]);
  if (pool) await recordStopped(pool, watcher).catch(() => undefined);
  if (pool) await pool.end().catch(() => undefined);
  if (fatal) throw fatal.err;
  result.stoppedAt = new Date().toISOString();
  return result;
}
