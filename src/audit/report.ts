// Turns an AuditResult into the shared Report every renderer reads: a table of queries with
// latencies against budgets, the findings, what was not judged and why, cache hit ratios.
// --strict renders warnings as failures (and the exit code follows report.ok).
import type { Cell, Report, ReportCheck, ReportSection, Tone } from '../report.js';
import type { AuditResult } from './index.js';
import type { Ratio } from '../catalog/cacheStats.js';
import { lockedNote } from '../catalog/schema.js';
import { cacheSections } from '../cache/report.js';
import { growthSections, loadSections } from './load/report.js';

/** One ReportCheck per finding (--strict turns warnings into failures); audit and audit --node share it. */
export function findingChecks(
  findings: AuditResult['findings'],
  strict: boolean,
  durationOf: (f: AuditResult['findings'][number]) => number | undefined = () => undefined,
): ReportCheck[] {
  return findings.map((f) => ({
    id: f.id,
    subject: f.subject,
    code: f.code,
    status: strict && f.status === 'warn' ? 'fail' : f.status,
    message: f.message,
    file: f.file,
    line: f.line,
    column: f.column,
    group: f.group,
    durationMs: durationOf(f),
  }));
}

const ms = (n: number | undefined): string =>
  n === undefined ? '' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
const pct = (r: number | null): string => (r === null ? '-' : `${(r * 100).toFixed(1)} %`);

function ratioCell(r: Ratio | undefined): string {
  if (!r) return '';
  return `${pct(r.ratio)} of ${(r.hit + r.read).toLocaleString('en-US')}`;
}

function verdictCell(r: Ratio | undefined): Cell {
  if (!r) return '';
  return { text: r.verdict, tone: r.verdict === 'ok' ? 'ok' : r.verdict === 'low' ? 'warn' : 'dim' };
}

export function auditReport(r: AuditResult, opts: { strict?: boolean } = {}): Report {
  const strict = Boolean(opts.strict);
  const ok = r.errors + (strict ? r.warnings : 0) === 0;
  const sections: ReportSection[] = [queriesSection(r), findingsSection(r, strict)];
  const notJudged = notJudgedSection(r);
  if (notJudged) sections.push(notJudged);
  const budgets = Object.fromEntries(
    r.queries.map((q) => [q.name, { budgetMs: q.budgetMs, budgetSource: q.budgetSource, tier: q.tier }]),
  );
  sections.splice(2, 0, ...loadSections(r.load, budgets, r.loadLeft), ...growthSections(r.growth ?? []));
  sections.push(cacheSection(r));
  if (r.cacheTier) sections.push(...cacheSections(r.cacheTier));
  sections.push(baselineSection(r));
  const checks = findingChecks(r.findings, strict, (f) =>
    f.code === 'over-budget' ? r.queries.find((q) => q.name === f.subject)?.durationMs : undefined,
  );
  const counts =
    `${r.errors} error${r.errors === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}` +
    `${strict && r.warnings ? ' (--strict: warnings fail)' : ''}`;
  return {
    command: 'audit',
    title: `dbopt audit (PostgreSQL ${r.serverVersion})`,
    server: r.server,
    ok,
    summary: ok
      ? `Audit passed: ${r.queries.length} queries, ${counts}.`
      : `Audit failed: ${r.queries.length} queries, ${counts}.`,
    sections,
    checks,
    data: r,
  };
}

/** One row per query: latencies against the budget, cost, buffers, plan shape, verdict. */
function queriesSection(r: AuditResult): ReportSection {
  const byQuery = new Map<string, { fail: number; warn: number }>();
  for (const f of r.findings) {
    const c = byQuery.get(f.subject) ?? { fail: 0, warn: 0 };
    if (f.status === 'fail') c.fail++;
    if (f.status === 'warn') c.warn++;
    byQuery.set(f.subject, c);
  }
  const rows: Cell[][] = r.queries.map((q) => {
    const c = byQuery.get(q.name) ?? { fail: 0, warn: 0 };
    const verdict: { text: string; tone: Tone } =
      q.status === 'timeout'
        ? { text: `timeout > ${ms(q.statementTimeoutMs)} ms`, tone: 'bad' }
        : q.status === 'error'
          ? { text: 'error', tone: 'bad' }
          : q.status === 'not-populated'
            ? { text: 'view not populated', tone: 'bad' }
            : c.fail
              ? { text: `${c.fail} error${c.fail === 1 ? '' : 's'}`, tone: 'bad' }
              : c.warn
                ? { text: `${c.warn} warning${c.warn === 1 ? '' : 's'}`, tone: 'warn' }
                : { text: 'ok', tone: 'ok' };
    const p95Tone: Tone = q.latency && q.latency.p95 > q.budgetMs ? 'bad' : 'ok';
    return [
      q.name,
      q.tier ?? 'budget',
      ms(q.latency?.p50),
      q.latency ? { text: ms(q.latency.p95), tone: p95Tone } : '',
      ms(q.latency?.max),
      q.plan?.analyzed ? ms(q.plan.executionMs) : '',
      ms(q.budgetMs),
      q.plan ? q.plan.totalCost.toFixed(2) : '',
      q.plan?.analyzed ? `${q.plan.sharedHit}/${q.plan.sharedRead}` : '',
      q.plan?.shape ?? '',
      verdict,
    ];
  });
  const notes: string[] = [];
  if (r.queries.some((q) => q.cold)) notes.push(`cold tier: ${r.cold.label}`);
  const generic = r.queries.filter((q) => q.timedPlan?.plan === 'generic').map((q) => q.name);
  if (generic.length)
    notes.push(
      `plans timed: the prepared statement's cached generic plan for ${generic.join(', ')}; custom plans otherwise.`,
    );
  notes.push(
    'latency: ms over timed runs of a prepared statement; budget checked on p95. ' +
      'server: execution time and buffers: shared hit/read of one EXPLAIN (ANALYZE, BUFFERS).',
  );
  return {
    title: `Queries (${r.queries.length}, ${r.queriesDir})`,
    columns: ['query', 'tier', 'p50', 'p95', 'max', 'server', 'budget', 'cost', 'buffers hit/read', 'plan', 'verdict'],
    drop: ['buffers hit/read', 'cost', 'server', 'max', 'tier', 'p50', 'plan'],
    rows,
    note: notes.join('\n'),
  };
}

/** Errors and warnings (--strict shows warnings as failing). */
function findingsSection(r: AuditResult, strict: boolean): ReportSection {
  const shown = r.findings.filter((f) => f.status === 'fail' || f.status === 'warn');
  return {
    title: 'Findings',
    role: 'findings',
    columns: ['', 'check', 'subject', 'message', 'where'],
    rows: shown.map((f) => [
      f.status === 'fail'
        ? { text: 'error', tone: 'bad' }
        : { text: strict ? 'warning (strict)' : 'warning', tone: strict ? 'bad' : 'warn' },
      f.code,
      f.subject,
      f.message,
      f.file ? `${f.file}:${f.line ?? 1}${f.column ? `:${f.column}` : ''}` : '',
    ]),
    empty: 'no findings',
  };
}

/** What was not judged and why, one line per reason; undefined when everything was judged. */
function notJudgedSection(r: AuditResult): ReportSection | undefined {
  const skipped = r.findings.filter((f) => f.status === 'skip');
  if (!skipped.length && !r.schema.locked.length) return undefined;
  const grouped = new Map<string, string[]>();
  for (const f of skipped) {
    // "no baseline: cost 8.31 not compared" for every query collapses into one line.
    const key = /not compared$/.test(f.message) ? `${f.code}: ${f.message.split(':')[0]}` : `${f.code}: ${f.message}`;
    grouped.set(key, [...(grouped.get(key) ?? []), f.subject]);
  }
  const locked = lockedNote(r.schema.locked);
  return {
    title: 'Not judged',
    lines: [
      ...[...grouped].map(([key, subjects]) => ({
        text: `${key} (${subjects.length > 3 ? `${subjects.length} queries` : subjects.join(', ')})`,
        tone: 'dim' as Tone,
      })),
      ...(locked ? [{ text: `schema: ${locked}`, tone: 'warn' as Tone }] : []),
    ],
  };
}

function cacheSection(r: AuditResult): ReportSection {
  const evicted = r.queries.some((q) => q.cold?.mode === 'evicted') ? ' and by cold-tier evictions' : '';
  return {
    title: 'Cache hit ratios',
    columns: ['scope', 'name', 'during audit', 'verdict', 'since stats reset', 'verdict'],
    drop: ['verdict', 'since stats reset', 'scope'],
    rows: r.cache.ratios.map((c) => [
      c.scope,
      c.name,
      ratioCell(c.delta),
      verdictCell(c.delta),
      ratioCell(c.cumulative),
      verdictCell(c.cumulative),
    ]),
    note:
      `Judged against audit.minCacheHitRatio ${r.cache.minRatio} past audit.minBlocks ${r.cache.minBlocks} blocks; ` +
      `shown, not gated (a CI database's figures are dominated by the seed load${evicted}). Stats reset: ${r.cache.statsReset ?? 'never'}.`,
  };
}

function baselineSection(r: AuditResult): ReportSection {
  const b = r.baseline;
  const text = b.updated
    ? `wrote ${b.file} (${b.entries} entries, PostgreSQL ${r.serverVersion})`
    : !b.present
      ? `no baseline at ${b.file}: run dbopt audit --update-baseline and commit it`
      : b.note
        ? `${b.file}: ${b.note}`
        : `${b.file}: ${b.entries} entries from PostgreSQL ${b.major}`;
  return {
    title: 'Baseline',
    lines: [{ text, tone: b.present || b.updated ? (b.note && !b.updated ? 'warn' : 'info') : 'warn' }],
  };
}
