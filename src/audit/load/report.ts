// The load phase and growth as report sections (every renderer reads them): one row per query
// of the mix, a line for the mix, the server and the client, and the growth exponents. Columns
// are kept short so the table fits a 100-column terminal.
import type { Cell, Report, ReportSection, Tone } from '../../report.js';
import type { QueryBudget } from './checks/index.js';
import type { LoadResult } from './engine.js';
import type { GrowthFacts } from './growth.js';
import { MAX_BUFFER_EXPONENT } from './checks/growsWithData.js';

const ms = (n: number | undefined): string =>
  n === undefined ? '-' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
const count = (n: number): string => (n >= 100_000 ? `${Math.round(n / 1000)}k` : n.toLocaleString('en-US'));

export function loadSections(
  load: LoadResult | undefined,
  budgets: Record<string, QueryBudget>,
  left: { name: string; reason: string }[] = [],
): ReportSection[] {
  if (!load) return [];
  const model =
    load.model === 'closed' ? `${load.concurrency} in flight` : `${load.rate}/s open model, ${load.arrivals} arrivals`;
  const rows: Cell[][] = load.queries.map((q) => {
    const budget = budgets[q.name]?.budgetMs;
    const tone: Tone = budget !== undefined && q.latency.p95 > budget ? 'bad' : 'ok';
    return [
      q.name,
      count(q.requests),
      q.errors ? { text: count(q.errors), tone: 'bad' } : '0',
      Math.round(q.throughput).toLocaleString('en-US'),
      ms(q.latency.p50),
      { text: ms(q.latency.p95), tone },
      ms(q.poolWait.p95),
      ms(q.connection.p95),
      ms(q.serverMeanMs),
      ms(budget),
    ];
  });
  rows.push([
    { text: 'mix', tone: 'info' },
    count(load.requests),
    load.errors ? { text: count(load.errors), tone: 'bad' } : '0',
    Math.round(load.throughput).toLocaleString('en-US'),
    ms(load.latency.p50),
    ms(load.latency.p95),
    ms(load.poolWait.p95),
    '',
    '',
    '',
  ]);
  const s = load.server;
  const waits = s.waitEvents.length
    ? s.waitEvents
        .slice(0, 3)
        .map((w) => `${w.event} ${Math.round(w.share * 100)} %`)
        .join(', ')
    : 'none sampled';
  const secs = (n: number): string => `${(n / 1000).toFixed(1)} s`;
  const notes = [
    `${model} over ${load.connections} connections (up to ${load.pipeline} pipelined each),` +
      ` ${secs(load.durationMs)} after ${secs(load.warmupMs)} warm-up` +
      (load.partial ? ` - PARTIAL (${load.stoppedBy})` : '') +
      (load.achievedShare !== undefined ? `; ${Math.round(load.achievedShare * 100)} % of the offered rate` : ''),
    'ms from issue (open model: from the scheduled start); pool: p95 waiting for a connection;',
    'conn: p95 on the connection; server: mean execution (pg_stat_statements); p99, max: json.',
    `server: ${waits}; connections ${s.connections.maxUsed} of ${s.connections.max} used (${s.connections.load} load);` +
      ` cache hit ${s.cache.ratio === null ? '-' : `${(s.cache.ratio * 100).toFixed(1)} %`}`,
    `client: ${Math.round(load.client.cpuShare * 100)} % of a core, event-loop delay p99 ${load.client.eventLoopDelayP99Ms.toFixed(1)} ms` +
      (load.client.bound ? '; client-bound:' : ''),
  ];
  if (load.client.bound) notes.push('these figures understate the server');
  if (load.pooled)
    notes.push('through a transaction pooler: one request per connection, each in its own read-only transaction');
  if (s.statementsNote) notes.push(s.statementsNote);
  for (const l of left) notes.push(`left out: ${l.name} (${l.reason})`);
  return [
    {
      title: `Under load (${model}, ${load.connections} connections)`,
      columns: ['query', 'req', 'err', 'req/s', 'p50', 'p95', 'pool', 'conn', 'server', 'budget'],
      rows,
      note: notes.join('\n'),
    },
  ];
}

export function growthSections(growth: GrowthFacts[], note?: string): ReportSection[] {
  if (!growth.length && !note) return [];
  if (!growth.length) return [{ title: 'Growth with data', lines: [{ text: note!, tone: 'dim' }] }];
  return [
    {
      title: 'Growth with data (exponent of rows)',
      columns: ['query', 'tier', 'rows', 'buffers', 'buffers ^', 'p95 ^', 'node'],
      rows: growth.map((g) => [
        g.query,
        g.tier ?? '',
        `${count(Math.round(g.rowsBefore))} -> ${count(Math.round(g.rowsNow))}`,
        `${count(g.buffersBefore)} -> ${count(g.buffersNow)}`,
        {
          text: g.buffersExponent.toFixed(2),
          tone: g.buffersExponent > MAX_BUFFER_EXPONENT && (g.tier === 'hot' || g.tier === 'warm') ? 'warn' : 'ok',
        },
        g.p95Exponent === undefined ? '-' : g.p95Exponent.toFixed(2),
        g.node ?? '',
      ]),
      note: `buffers ^ above ${MAX_BUFFER_EXPONENT} for a hot or warm query is grows-with-data;\nbuffers decide: they do not depend on the machine.`,
    },
  ];
}

/** A load run on its own (dbopt demo's peak stage): its section and its findings as checks. */
export function loadReport(
  load: LoadResult,
  budgets: Record<string, QueryBudget>,
  findings: { id: string; subject: string; code: string; status: 'pass' | 'fail' | 'warn' | 'skip'; message: string }[],
  server: string,
  left: { name: string; reason: string }[] = [],
): Report {
  const shown = findings.filter((f) => f.status === 'fail' || f.status === 'warn');
  const over = findings.filter((f) => f.code === 'load-over-budget' && f.status === 'fail').length;
  const at = load.model === 'closed' ? `${load.concurrency} in flight` : `${load.rate}/s`;
  return {
    command: 'audit-load',
    title: `dbopt audit --load (${at})`,
    server,
    ok: shown.every((f) => f.status !== 'fail'),
    summary:
      // Kept under 100 columns: the demo prints it as one line.
      `p95 ${ms(load.latency.p95)} ms at ${at} over ${load.connections} connections` +
      ` (${Math.round(load.throughput).toLocaleString('en-US')} req/s); ${over} of ${load.queries.length} queries over budget.`,
    sections: [
      ...loadSections(load, budgets, left),
      {
        title: 'Findings under load',
        columns: ['', 'check', 'subject', 'message'],
        rows: shown.map((f) => [
          f.status === 'fail' ? { text: 'error', tone: 'bad' } : { text: 'warning', tone: 'warn' },
          f.code,
          f.subject,
          f.message,
        ]),
        empty: 'no findings',
      },
    ],
    checks: findings.map((f) => ({ id: f.id, subject: f.subject, code: f.code, status: f.status, message: f.message })),
    data: load,
  };
}
