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

/** When a view last refreshed at `last` is next due; `undefined` last = due now. */
export function nextDue(schedule: string, last: Date | undefined, now: Date = new Date()): Date {
  if (!last) return now;
  const ms = parseDuration(schedule);
  if (ms !== undefined) return new Date(last.getTime() + ms);
  const next = new Cron(schedule, { paused: true }).nextRun(last);
  return next ?? new Date(8.64e15);
}
