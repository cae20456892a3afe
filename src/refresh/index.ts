// dbopt refresh-views as a library: refreshViews() (due, --all or named), refreshPlan()
// (--dry-run), refreshStatus() (--status) and watchViews() (--watch). Each returns a result
// object; the CLI renders it.
import { createPool, type ConnectionTarget } from '../db/connection.js';
import { InterruptedError, UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { dueAt, dueOf, scheduleFor, takeSnapshot, type RefreshSettings, type Snapshot } from './snapshot.js';
import { chooseMode, selectNamed, type ManagedView, type RefreshMode } from './catalog.js';
import { checkout, runInOrder, Semaphore, type ViewResult } from './engine.js';
import { ensureHistory } from './history.js';
import { readWatchers, type WatcherRecord } from './watchers.js';
import { UnresponsiveError } from '../db/deadline.js';
import { notDueWhy } from './due.js';
import { overdueState } from '../schedule.js';

export type { ViewResult, ViewOutcome } from './engine.js';
export type { ManagedView, RefreshMode } from './catalog.js';
export { watchViews, type WatchOptions, type WatchResult } from './watch.js';

export type { RefreshSettings } from './snapshot.js';

export interface RefreshOptions {
  target: ConnectionTarget;
  settings: RefreshSettings;
  /** Refresh every managed view regardless of schedule. */
  all?: boolean;
  /** Refresh these views (schema.view or a unique bare name) regardless of schedule. */
  views?: string[];
  logger?: Logger;
  signal?: AbortSignal;
}

export interface RefreshResult {
  server: string;
  selection: 'due' | 'all' | 'named';
  startedAt: string;
  durationMs: number;
  concurrency: number;
  views: ViewResult[];
  /** False when any refresh failed (or was stopped by a dependency failure). */
  ok: boolean;
  /** Config that points at nothing (a schedule for a view that is not managed). */
  warnings: string[];
}

export interface PlanEntry {
  order: number;
  view: string;
  dependsOn: string[];
  schedule: string;
  mode: RefreshMode;
  why: string;
  warning?: string;
  lastSuccess?: string;
  nextDue: string;
  due: boolean;
  /** Whether `refresh-views` with the same selection would refresh it now. */
  willRefresh: boolean;
}

export interface PlanResult {
  server: string;
  selection: 'due' | 'all' | 'named';
  concurrency: number;
  views: PlanEntry[];
  warnings: string[];
}

export interface StatusEntry {
  view: string;
  schedule: string;
  lastSuccess?: string;
  ageMs?: number;
  nextDue: string;
  overdue: boolean;
  /** How long past due (0 when not overdue). */
  overdueByMs: number;
  populated: boolean;
  mode: RefreshMode;
  why: string;
  warning?: string;
  lastDurationMs?: number;
  sizeBytes: number;
  /** Attempts that never finished (refresher killed or cut off). */
  unfinishedAttempts: number;
  lastOutcome?: string;
  lastError?: string;
  dependsOn: string[];
}

export interface StatusResult {
  server: string;
  now: string;
  views: StatusEntry[];
  /** Views overdue or never refreshed. */
  overdue: number;
  warnings: string[];
  /** `--watch` processes, newest completed cycle first (from dbopt.refresh_watchers). */
  watchers: WatcherRecord[];
}

function configWarnings(settings: RefreshSettings, views: ManagedView[]): string[] {
  const names = new Set(views.map((v) => v.qualified));
  const unused = Object.keys(settings.schedules).filter((k) => !names.has(k));
  if (unused.length === 0) return [];
  return [
    `refresh.schedules names ${unused.length === 1 ? 'a view' : 'views'} not managed here, so ${unused.length === 1 ? 'its schedule is' : 'their schedules are'} unused: ${unused.join(', ')}. Check the names (schema.view) and refresh.include/exclude.`,
  ];
}

function selectViews(
  snap: Snapshot,
  opts: Pick<RefreshOptions, 'all' | 'views' | 'settings'>,
): { selection: 'due' | 'all' | 'named'; chosen: ManagedView[] } {
  if (opts.views && opts.views.length > 0) {
    if (opts.all)
      throw new UsageError('--all and view names cannot be used together', {
        hint: 'Drop --all to refresh only the named views, or drop the names.',
      });
    return { selection: 'named', chosen: selectNamed(snap.views, opts.views) };
  }
  if (opts.all) return { selection: 'all', chosen: snap.views };
  return {
    selection: 'due',
    chosen: snap.views.filter((v) => dueAt(opts.settings, v.qualified, snap).getTime() <= snap.now.getTime()),
  };
}

/** Refresh what is due (default), everything (`all`) or the named views, in dependency order. */
export async function refreshViews(opts: RefreshOptions): Promise<RefreshResult> {
  const logger = opts.logger ?? silentLogger;
  const started = new Date();
  const t0 = performance.now();
  const pool = await createPool(opts.target, opts.settings.concurrency + 1);
  try {
    const client = await checkout(pool);
    let snap: Snapshot;
    try {
      await ensureHistory(client, opts.target.display);
      snap = await takeSnapshot(client, opts.settings);
    } finally {
      client.release();
    }
    const { selection, chosen } = selectViews(snap, opts);
    const chosenNames = new Set(chosen.map((v) => v.qualified));
    const results = new Map<string, ViewResult>();
    for (const v of snap.views) {
      if (chosenNames.has(v.qualified)) continue;
      if (selection === 'due') {
        const due = dueOf(opts.settings, v.qualified, snap);
        const m = chooseMode(v);
        results.set(v.qualified, {
          view: v.qualified,
          outcome: 'skipped-not-due',
          mode: m.mode,
          schedule: scheduleFor(opts.settings, v.qualified),
          dependsOn: v.dependsOn,
          why: notDueWhy(scheduleFor(opts.settings, v.qualified), due),
        });
      }
    }
    if (chosen.length > 0)
      logger.info(
        `Refreshing ${chosen.length} view${chosen.length === 1 ? '' : 's'} on ${opts.target.display} (concurrency ${opts.settings.concurrency}) ...`,
      );
    const ran = await runInOrder(chosen, new Semaphore(opts.settings.concurrency), {
      pool,
      statementTimeoutMs: opts.settings.statementTimeoutMs,
      lockTimeoutMs: opts.settings.lockTimeoutMs,
      checkDue: selection === 'due',
      scheduleOf: (v) => scheduleFor(opts.settings, v),
      signal: opts.signal,
      onResult: (r) => {
        if (r.outcome === 'failed') logger.warn(`${r.view}: refresh failed: ${r.why}`);
        else
          logger.info(
            `${r.view}: ${r.outcome}${r.durationMs !== undefined ? ` (${r.mode}, ${Math.round(r.durationMs)}ms)` : ''}`,
          );
      },
    });
    for (const r of ran) results.set(r.view, r);
    // The server stopped answering: exit 3 naming it, like losing it, not a failed refresh (1).
    const silent = ran.find((r) => r.unresponsive);
    if (silent?.unresponsive) {
      throw new UnresponsiveError(`${silent.view}: ${silent.unresponsive.message}`, opts.target.display, 0, {
        hint: silent.unresponsive.hint,
        details: ran.filter((r) => r !== silent).map((r) => `${r.view}: ${r.outcome}${r.why ? ` (${r.why})` : ''}`),
      });
    }
    if (opts.signal?.aborted) {
      const reason: unknown = opts.signal.reason;
      throw reason instanceof InterruptedError ? reason : new InterruptedError('SIGTERM');
    }
    const views = snap.views.map((v) => results.get(v.qualified)).filter((r): r is ViewResult => r !== undefined);
    return {
      server: opts.target.display,
      selection,
      startedAt: started.toISOString(),
      durationMs: performance.now() - t0,
      concurrency: opts.settings.concurrency,
      views,
      ok: views.every(
        (r) => r.outcome !== 'failed' && r.outcome !== 'skipped-dependency-failed' && r.outcome !== 'cancelled',
      ),
      warnings: configWarnings(opts.settings, snap.views),
    };
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function readOnlySnapshot(target: ConnectionTarget, settings: RefreshSettings): Promise<Snapshot> {
  const pool = await createPool(target, 1);
  try {
    return await takeSnapshot(pool, settings);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

/** --dry-run: what would be refreshed, in which order and mode, and why. Changes nothing. */
export async function refreshPlan(opts: RefreshOptions): Promise<PlanResult> {
  const snap = await readOnlySnapshot(opts.target, opts.settings);
  const { selection, chosen } = selectViews(snap, opts);
  const chosenNames = new Set(chosen.map((v) => v.qualified));
  return {
    server: opts.target.display,
    selection,
    concurrency: opts.settings.concurrency,
    warnings: configWarnings(opts.settings, snap.views),
    views: snap.views.map((v, i) => {
      const m = chooseMode(v);
      const due = dueAt(opts.settings, v.qualified, snap);
      return {
        order: i + 1,
        view: v.qualified,
        dependsOn: v.dependsOn,
        schedule: scheduleFor(opts.settings, v.qualified),
        mode: m.mode,
        why: m.why,
        warning: m.warning,
        lastSuccess: snap.history.get(v.qualified)?.lastSuccess?.toISOString(),
        nextDue: due.toISOString(),
        due: due.getTime() <= snap.now.getTime(),
        willRefresh: chosenNames.has(v.qualified),
      };
    }),
  };
}

/** --status: schedule, last success, age, overdue, next mode, last duration and size of every managed view. */
export async function refreshStatus(opts: Pick<RefreshOptions, 'target' | 'settings'>): Promise<StatusResult> {
  const pool = await createPool(opts.target, 1);
  let snap: Snapshot;
  let watchers: WatcherRecord[];
  try {
    snap = await takeSnapshot(pool, opts.settings);
    watchers = await readWatchers(pool);
  } finally {
    await pool.end().catch(() => undefined);
  }
  const views = snap.views.map((v): StatusEntry => {
    const h = snap.history.get(v.qualified);
    const m = chooseMode(v);
    const due = dueAt(opts.settings, v.qualified, snap);
    // Overdue by the schedule alone: a view backing off after failures is overdue all the same.
    const late = overdueState(scheduleFor(opts.settings, v.qualified), h?.lastSuccess, snap.now);
    return {
      view: v.qualified,
      schedule: scheduleFor(opts.settings, v.qualified),
      lastSuccess: h?.lastSuccess?.toISOString(),
      ageMs: h?.lastSuccess ? snap.now.getTime() - h.lastSuccess.getTime() : undefined,
      nextDue: due.toISOString(),
      overdue: late.overdue,
      overdueByMs: late.byMs,
      populated: v.populated,
      mode: m.mode,
      why: m.why,
      warning: m.warning,
      lastDurationMs: h?.lastDurationMs,
      sizeBytes: v.sizeBytes,
      unfinishedAttempts: h?.unfinished ?? 0,
      lastOutcome: h?.lastOutcome,
      lastError: h?.lastError,
      dependsOn: v.dependsOn,
    };
  });
  return {
    server: opts.target.display,
    now: snap.now.toISOString(),
    views,
    overdue: views.filter((v) => v.overdue).length,
    warnings: configWarnings(opts.settings, snap.views),
    watchers,
  };
}
