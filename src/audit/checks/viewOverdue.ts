// view-overdue: a materialized view managed by dbopt refresh-views (config refresh.include /
// exclude) whose last successful refresh, from dbopt.refresh_history, is older than its
// schedule (refresh.schedules, else refresh.defaultSchedule) allows. PostgreSQL itself does
// not record refresh times, so without that table the check says "no refresh history".
// https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html
import { isManagedView } from '../../catalog/views.js';
import { overdueState, scheduleFor } from '../../schedule.js';
import type { SchemaCheck } from './types.js';

export const viewOverdue: SchemaCheck = {
  kind: 'schema',
  code: 'view-overdue',
  severity: 'warning',
  summary: 'materialized views refreshed within their schedule',
  check: (facts, settings) => {
    const managed = facts.views.filter((v) => isManagedView(v.name, settings.include, settings.exclude));
    if (managed.length === 0)
      return [{ status: 'pass', subject: 'schema', message: 'no materialized view managed by dbopt refresh-views' }];
    if (!facts.refreshHistory) {
      return [
        {
          status: 'skip',
          subject: 'schema',
          message: `no refresh history (dbopt.refresh_history does not exist): ${managed.length} view${managed.length === 1 ? '' : 's'} not judged. Refresh them with dbopt refresh-views, which records each refresh.`,
        },
      ];
    }
    const now = new Date(facts.now);
    return managed.map((v) => {
      const schedule = scheduleFor(settings, v.name);
      if (!v.lastSuccess) {
        return {
          status: 'fail' as const,
          subject: v.name,
          message: `view ${v.name} has no successful refresh in dbopt.refresh_history${v.lastOutcome ? ` (last attempt: ${v.lastOutcome})` : ''}${v.populated ? '' : ' and is not populated'}: its readers see ${v.populated ? 'stale' : 'no'} data. Run dbopt refresh-views ${v.name}.`,
        };
      }
      const { overdue, byMs, dueAt: due } = overdueState(schedule, new Date(v.lastSuccess), now);
      if (overdue) {
        const late = Math.round(byMs / 60_000);
        return {
          status: 'fail' as const,
          subject: v.name,
          message: `view ${v.name} is overdue by ${late} min (schedule ${schedule}, last success ${v.lastSuccess}): its readers see stale data. Check the refresh-views job, or run dbopt refresh-views ${v.name}.`,
        };
      }
      return {
        status: 'pass' as const,
        subject: v.name,
        message: `refreshed ${v.lastSuccess}, next due ${due.toISOString()} (schedule ${schedule})`,
      };
    });
  },
};
