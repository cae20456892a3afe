// Turns refresh-views' results into the shared Report: a run, a --dry-run plan, --status
// and the summary a --watch prints once stopped.
import { formatBytes } from '../bytes.js';
import { formatDuration } from '../duration.js';
import type { Cell, Report, ReportCheck, ReportSection, Tone } from '../report.js';
import type { PlanResult, RefreshResult, StatusResult, ViewOutcome, WatchResult } from './index.js';

const OUTCOME_TONE: Record<ViewOutcome, Tone> = {
  refreshed: 'ok',
  'skipped-not-due': 'dim',
  'skipped-elsewhere': 'info',
  'skipped-dependency-failed': 'bad',
  failed: 'bad',
  cancelled: 'warn',
};

function warningSection(warnings: string[]): ReportSection[] {
  return warnings.length
    ? [{ title: 'Warnings', lines: warnings.map((text) => ({ text, tone: 'warn' as Tone })) }]
    : [];
}

export function refreshReport(r: RefreshResult): Report {
  const count = (o: ViewOutcome): number => r.views.filter((v) => v.outcome === o).length;
  const failed = count('failed') + count('skipped-dependency-failed') + count('cancelled');
  const skipped = count('skipped-not-due') + count('skipped-elsewhere');
  const checks: ReportCheck[] = r.views.map((v) => ({
    id: `${v.view}/refresh`,
    subject: v.view,
    code: 'refresh',
    status:
      v.outcome === 'refreshed'
        ? 'pass'
        : v.outcome.startsWith('skipped-') && v.outcome !== 'skipped-dependency-failed'
          ? 'skip'
          : 'fail',
    message: v.outcome === 'failed' && v.error ? `${v.why}\n${v.error}` : v.why,
    durationMs: v.durationMs,
  }));
  const warnings = [
    ...r.views.filter((v) => v.warning && v.outcome === 'refreshed').map((v) => v.warning!),
    ...r.warnings,
  ];
  return {
    command: 'refresh-views',
    title: `dbopt refresh-views${r.selection === 'all' ? ' --all' : r.selection === 'named' ? ' (named views)' : ''}`,
    server: r.server,
    ok: r.ok,
    summary:
      r.views.length === 0
        ? 'No materialized views match refresh.include/refresh.exclude.'
        : `${count('refreshed')} refreshed, ${skipped} skipped, ${failed} failed in ${formatDuration(r.durationMs)}`,
    sections: [
      {
        title: 'Views',
        columns: ['view', 'outcome', 'mode', 'time', 'why'],
        drop: ['mode', 'time'],
        rows: r.views.map((v): Cell[] => [
          v.view,
          { text: v.outcome, tone: OUTCOME_TONE[v.outcome] },
          v.mode,
          v.durationMs !== undefined ? formatDuration(v.durationMs) : '',
          v.why,
        ]),
        empty: 'no materialized views managed',
      },
      ...warningSection(warnings),
    ],
    checks,
    data: r,
  };
}

export function refreshPlanReport(p: PlanResult): Report {
  const n = p.views.filter((v) => v.willRefresh).length;
  return {
    command: 'refresh-views',
    title: 'dbopt refresh-views --dry-run',
    server: p.server,
    ok: true,
    summary: `Would refresh ${n} of ${p.views.length} view${p.views.length === 1 ? '' : 's'} (concurrency ${p.concurrency}); nothing was changed.`,
    sections: [
      {
        title: 'Plan',
        columns: ['#', 'view', 'after', 'mode', 'why', 'due', 'refresh now'],
        drop: ['due', 'after', '#'],
        rows: p.views.map((v): Cell[] => [
          v.order,
          v.view,
          v.dependsOn.join(', '),
          { text: v.mode, tone: v.warning ? 'warn' : 'ok' },
          v.why,
          v.due ? { text: 'yes', tone: 'warn' } : { text: `at ${v.nextDue}`, tone: 'dim' },
          v.willRefresh ? { text: 'yes', tone: 'info' } : { text: 'no', tone: 'dim' },
        ]),
        empty: 'no materialized views managed',
      },
      ...warningSection([...p.views.filter((v) => v.warning).map((v) => v.warning!), ...p.warnings]),
    ],
    checks: [],
    data: p,
  };
}

export function refreshStatusReport(s: StatusResult): Report {
  return {
    command: 'refresh-views',
    title: 'dbopt refresh-views --status',
    server: s.server,
    ok: true,
    summary:
      s.views.length === 0
        ? 'No materialized views match refresh.include/refresh.exclude.'
        : `${s.views.length} views, ${s.overdue} overdue`,
    sections: [
      {
        title: 'Materialized views',
        columns: ['view', 'schedule', 'last success', 'age', 'overdue', 'mode', 'last duration', 'size'],
        drop: ['size', 'last duration', 'mode', 'schedule', 'last success'],
        rows: s.views.map((v): Cell[] => [
          v.unfinishedAttempts ? `${v.view} (${v.unfinishedAttempts} unfinished)` : v.view,
          v.schedule,
          v.lastSuccess ?? { text: 'never', tone: 'warn' },
          v.ageMs !== undefined ? formatDuration(v.ageMs) : '',
          v.overdue
            ? { text: v.lastSuccess ? `yes, by ${formatDuration(v.overdueByMs)}` : 'yes', tone: 'bad' }
            : { text: 'no', tone: 'ok' },
          { text: v.mode, tone: v.warning ? 'warn' : 'ok' },
          v.lastDurationMs !== undefined ? formatDuration(v.lastDurationMs) : '',
          formatBytes(v.sizeBytes),
        ]),
        note: 'last success: start of the latest successful refresh recorded in dbopt.refresh_history (the rows are as of then).',
        empty: 'no materialized views managed',
      },
      ...watcherSection(s),
      ...warningSection([...s.views.filter((v) => v.warning).map((v) => v.warning!), ...s.warnings]),
    ],
    checks: s.views.map((v) => ({
      id: `${v.view}/overdue`,
      subject: v.view,
      code: 'overdue',
      status: v.overdue ? 'warn' : 'pass',
      message: v.overdue ? `overdue against schedule ${v.schedule}` : `next due ${v.nextDue}`,
    })),
    data: s,
  };
}

export function refreshWatchReport(w: WatchResult): Report {
  return {
    command: 'refresh-views',
    title: 'dbopt refresh-views --watch',
    server: w.server,
    ok: true,
    summary: `Stopped. ${w.refreshed} refreshed, ${w.failed} failed over ${w.cycles} cycles; ${w.reconnects} reconnect${w.reconnects === 1 ? '' : 's'}.`,
    sections: [
      {
        title: 'Views',
        columns: ['view', 'refreshed', 'failed', 'last outcome'],
        rows: Object.entries(w.views).map(([view, v]) => [view, v.refreshed, v.failed, v.lastOutcome ?? '']),
        empty: 'nothing was due while watching',
      },
    ],
    checks: [],
    data: w,
  };
}

/** --status: when each --watch process last completed a cycle (dbopt.refresh_watchers). */
function watcherSection(s: StatusResult): ReportSection[] {
  if (s.watchers.length === 0) return [];
  return [
    {
      title: 'Watchers',
      columns: ['watcher', 'last cycle', 'age', 'cycles', 'stalls', 'last stall', 'state'],
      rows: s.watchers.map((w): Cell[] => [
        w.watcher,
        w.lastCycleAt ?? { text: 'never', tone: 'warn' },
        w.lastCycleAgeMs !== undefined ? formatDuration(w.lastCycleAgeMs) : '',
        w.cycles,
        w.stalls ? { text: String(w.stalls), tone: 'warn' } : 0,
        w.lastStallAt ?? '',
        w.stoppedAt ? `stopped ${w.stoppedAt}` : 'running',
      ]),
      note: 'last cycle: when the watcher last read the catalog and launched what was due; a running watcher whose age grows past its schedule is stuck.',
    },
  ];
}
