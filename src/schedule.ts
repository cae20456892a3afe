// Schedules of materialized views: an interval ("1h") or a cron expression (croner).
import { Cron } from 'croner';
import { parseDuration } from './duration.js';

export function isCronExpression(text: string): boolean {
  const fields = text.trim().split(/\s+/);
  if (fields.length < 5 || fields.length > 6) return false;
  try {
    new Cron(text, { paused: true });
    return true;
  } catch {
    return false;
  }
}

/** refresh.schedules and refresh.defaultSchedule. */
export interface Schedules {
  schedules: Record<string, string>;
  defaultSchedule: string;
}

/** A view's schedule: refresh.schedules[view], else refresh.defaultSchedule. */
export function scheduleFor(s: Schedules, view: string): string {
  return s.schedules[view] ?? s.defaultSchedule;
}

/** When a view last refreshed at `last` is next due; `undefined` last = due now. */
export function nextDue(schedule: string, last: Date | undefined, now: Date = new Date()): Date {
  if (!last) return now;
  const ms = parseDuration(schedule);
  if (ms !== undefined) return new Date(last.getTime() + ms);
  const next = new Cron(schedule, { paused: true }).nextRun(last);
  return next ?? new Date(8.64e15);
}

export interface Overdue {
  /** Never refreshed counts as overdue: nothing says how old the rows are. */
  overdue: boolean;
  /** How long past due by the schedule (0 when not overdue or never refreshed). */
  byMs: number;
  /** When the schedule says the next refresh is due. */
  dueAt: Date;
}

/** Is a view last refreshed at `lastSuccess` overdue at `now` by its schedule alone (no backoff)? */
export function overdueState(schedule: string, lastSuccess: Date | undefined, now: Date): Overdue {
  const dueAt = nextDue(schedule, lastSuccess, now);
  const byMs = Math.max(0, now.getTime() - dueAt.getTime());
  return { overdue: !lastSuccess || byMs > 0, byMs, dueAt };
}
