// When a view is due: its schedule since the start of its last success, and, after failures,
// not before an exponential backoff from the last failed attempt. Without the backoff a view
// whose query fails (division by zero, a dropped column) is due again the moment it fails,
// and a watcher retries it in a tight loop. Pure functions: both the one-shot run and
// --watch judge due-ness here, on the server's clock.
import { Cron } from 'croner';
import { parseDuration } from '../duration.js';
import { nextDue } from '../schedule.js';
import type { ViewHistory } from './history.js';

/** First retry after a failure; doubles per consecutive failure. */
export const FAILURE_BACKOFF_MS = 30_000;
/** The backoff never exceeds this, nor the schedule's own period. */
export const MAX_FAILURE_BACKOFF_MS = 3_600_000;

/** The schedule's period around `from`: the interval, or the gap between two cron runs. */
export function schedulePeriodMs(schedule: string, from: Date): number {
  const ms = parseDuration(schedule);
  if (ms !== undefined) return ms;
  const [a, b] = new Cron(schedule, { paused: true }).nextRuns(2, from);
  return a && b ? b.getTime() - a.getTime() : MAX_FAILURE_BACKOFF_MS;
}

/** Wait after `failures` consecutive failures: 30 s doubling, capped at min(period, 1 h). */
export function failureBackoffMs(failures: number, schedule: string, at: Date): number {
  if (failures <= 0) return 0;
  const cap = Math.min(MAX_FAILURE_BACKOFF_MS, schedulePeriodMs(schedule, at));
  const raw = FAILURE_BACKOFF_MS * 2 ** Math.min(failures - 1, 20);
  return Math.max(0, Math.min(raw, cap));
}

export interface DueState {
  /** When the view is next due (now or earlier: due). */
  at: Date;
  /** Set when the failure backoff, not the schedule, decides `at`. */
  backoff?: { failures: number; lastFailure: Date; ms: number };
}

/**
 * max(schedule since the last success's start, last failed attempt + backoff). A view never
 * refreshed by dbopt is due now, unless it is backing off after failures.
 */
export function dueState(schedule: string, h: ViewHistory | undefined, now: Date): DueState {
  const bySchedule = nextDue(schedule, h?.lastSuccess, now);
  const failures = h?.failuresSinceSuccess ?? 0;
  if (failures === 0 || !h?.lastFailure) return { at: bySchedule };
  const ms = failureBackoffMs(failures, schedule, h.lastFailure);
  const retry = new Date(h.lastFailure.getTime() + ms);
  if (retry.getTime() <= bySchedule.getTime()) return { at: bySchedule };
  return { at: retry, backoff: { failures, lastFailure: h.lastFailure, ms } };
}

/** Why a view is not due yet, in words (skipped-not-due, --dry-run). */
export function notDueWhy(schedule: string, d: DueState): string {
  if (d.backoff) {
    const n = d.backoff.failures;
    return (
      `backing off after ${n} failed attempt${n === 1 ? '' : 's'} (last at ${d.backoff.lastFailure.toISOString()}); ` +
      `next attempt at ${d.at.toISOString()}. Fix the error in --status, or retry now: dbopt refresh-views <view>`
    );
  }
  return `not due until ${d.at.toISOString()} (schedule ${schedule})`;
}
