// Turns a HealthResult into the shared Report for `dbopt report`. No gate: ok is always true.
import { formatBytes } from '../bytes.js';
import type { Cell, Report, ReportSection } from '../report.js';
import type { HealthResult } from './index.js';
import { cacheSections } from '../cache/report.js';

const size = (b: number | null): string => (b === null ? 'locked' : formatBytes(b));
const pct = (r: number | null): string => (r === null ? '-' : `${(r * 100).toFixed(1)} %`);
const n = (x: number): string => x.toLocaleString('en-US');

export function healthReport(r: HealthResult): Report {
  const flagged = r.indexes.filter((i) =>
    i.notes.some((x) => x === 'unused' || x === 'INVALID' || x.startsWith('duplicate')),
  );
  const overdue = r.views.filter((v) => v.overdue);
  const sections: ReportSection[] = [
    {
      title: 'Cache hit ratios (since stats reset)',
      columns: ['scope', 'name', 'hit ratio', 'blocks', 'verdict'],
      rows: r.cache.map((c): Cell[] => [
        c.scope,
        c.name,
        pct(c.cumulative.ratio),
        n(c.cumulative.hit + c.cumulative.read),
        {
          text: c.cumulative.verdict,
          tone: c.cumulative.verdict === 'ok' ? 'ok' : c.cumulative.verdict === 'low' ? 'warn' : 'dim',
        },
      ]),
      note: `Statistics since ${r.statsSince} (${r.statsDays.toFixed(1)} days).`,
    },
    {
      title: 'Index usage',
      columns: ['index', 'table', 'scans', 'size', 'notes'],
      drop: ['size', 'table'],
      rows: r.indexes.map((i): Cell[] => [
        i.index,
        i.table,
        n(i.scans),
        size(i.sizeBytes),
        i.notes.length
          ? {
              text: i.notes.join('; '),
              tone: i.notes.some((x) => x === 'unused' || x === 'INVALID' || x.startsWith('duplicate'))
                ? 'warn'
                : 'dim',
            }
          : '',
      ]),
      empty: 'no index',
      note: `Unused indexes are judged only after 7 days of statistics. Foreign keys without an index: ${r.foreignKeysWithoutIndex.length ? r.foreignKeysWithoutIndex.join('; ') : 'none'}.${r.lockedNote ? `\n${r.lockedNote}` : ''}`,
    },
    {
      title: 'Tables',
      columns: ['table', 'rows', 'size', 'dead rows', 'seq scans', 'index scans', 'last vacuum', 'last analyze'],
      drop: ['last vacuum', 'last analyze', 'index scans', 'seq scans', 'dead rows'],
      rows: r.tables.map((t): Cell[] => [
        t.table,
        n(t.rows),
        size(t.sizeBytes),
        n(t.deadRows),
        n(t.seqScans),
        n(t.indexScans),
        t.lastVacuum?.slice(0, 16) ?? 'never',
        t.lastAnalyze?.slice(0, 16) ?? 'never',
      ]),
      empty: 'no table',
    },
    {
      title: 'Materialized views',
      columns: ['view', 'populated', 'schedule', 'last success', 'age', 'overdue', 'size'],
      drop: ['size', 'populated', 'schedule', 'last success'],
      rows: r.views.map((v): Cell[] => [
        v.view,
        v.populated ? 'yes' : { text: 'no', tone: 'warn' },
        v.schedule ?? 'not managed',
        v.lastSuccess?.slice(0, 19) ?? '-',
        v.ageMinutes === undefined ? '-' : `${v.ageMinutes} min`,
        v.overdue === undefined ? '-' : v.overdue ? { text: 'yes', tone: 'warn' } : { text: 'no', tone: 'ok' },
        size(v.sizeBytes),
      ]),
      empty: 'no materialized view',
      note: r.refreshHistory
        ? undefined
        : 'No refresh history (dbopt.refresh_history does not exist): staleness is unknown until dbopt refresh-views records refreshes.',
    },
    r.statements.available
      ? {
          title: 'Top statements (pg_stat_statements, by total time)',
          columns: ['calls', 'total ms', 'mean ms', 'rows', 'hit ratio', 'query'],
          drop: ['rows', 'hit ratio', 'calls'],
          rows: r.statements.top.map((s): Cell[] => [
            n(s.calls),
            s.totalMs.toFixed(1),
            s.meanMs.toFixed(3),
            n(s.rows),
            pct(s.hitRatio),
            s.query.length > 100 ? `${s.query.slice(0, 97)}...` : s.query,
          ]),
          empty: 'no statements recorded yet',
        }
      : {
          title: 'Top statements',
          lines: [{ text: r.statements.reason ?? 'pg_stat_statements unavailable', tone: 'dim' }],
        },
  ];
  if (r.cacheTier) sections.push(...cacheSections(r.cacheTier));
  else if (r.cacheSkipped) sections.push({ title: 'Cache tier', lines: [{ text: r.cacheSkipped, tone: 'dim' }] });
  return {
    command: 'report',
    title: `dbopt report (PostgreSQL ${r.serverVersion})`,
    server: r.server,
    ok: true,
    summary: `${r.indexes.length} indexes (${flagged.length} flagged), ${r.views.length} materialized views${overdue.length ? ` (${overdue.length} overdue)` : ''}, ${r.foreignKeysWithoutIndex.length} foreign keys without an index.`,
    sections,
    checks: [],
    data: r,
  };
}
