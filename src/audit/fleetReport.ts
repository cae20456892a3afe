// Turns a FleetAuditResult into the shared Report: each query's p95 and plan per node side by
// side, cache hit ratios per node, replication lag from both ends, then every finding named by
// its node. --strict renders warnings as failures.
import type { Cell, Report, ReportSection, Tone } from '../report.js';
import type { FleetAuditResult } from './fleet.js';
import { findingChecks } from './report.js';

const ms = (n: number | undefined): string =>
  n === undefined ? '' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
const pct = (r: number | null | undefined): string =>
  r === null || r === undefined ? '-' : `${(r * 100).toFixed(1)} %`;
const bytes = (n: number | null): string => (n === null ? '-' : n.toLocaleString('en-US'));

export function fleetAuditReport(r: FleetAuditResult, opts: { strict?: boolean } = {}): Report {
  const strict = Boolean(opts.strict);
  const names = r.nodes.map((n) => n.name);
  const queryNames = [...new Set(r.nodes.flatMap((n) => n.result.queries.map((q) => q.name)))];
  const differs = new Set(
    r.findings.filter((f) => f.code === 'replica-plan-differs' && f.status !== 'pass').map((f) => f.subject),
  );
  const queryRows: Cell[][] = queryNames.map((name) => {
    const cells: Cell[] = [name];
    for (const n of r.nodes) {
      const q = n.result.queries.find((x) => x.name === name);
      const over = q?.latency && q.latency.p95 > q.budgetMs;
      cells.push(
        q?.latency ? { text: ms(q.latency.p95), tone: over ? 'bad' : 'ok' } : q ? { text: q.status, tone: 'bad' } : '',
      );
    }
    for (const n of r.nodes) {
      const q = n.result.queries.find((x) => x.name === name);
      const shape = q?.plan?.shape ?? '';
      cells.push(n.name !== 'primary' && differs.has(`${n.name}:${name}`) ? { text: shape, tone: 'warn' } : shape);
    }
    return cells;
  });
  const cacheRows: Cell[][] = r.nodes.flatMap((n) =>
    n.result.cache.ratios
      .filter((c) => c.scope === 'database')
      .map((c) => [
        n.name,
        c.scope,
        c.name,
        c.delta ? `${pct(c.delta.ratio)} of ${(c.delta.hit + c.delta.read).toLocaleString('en-US')}` : '',
        c.cumulative ? pct(c.cumulative.ratio) : '',
      ]),
  );
  const lagRows: Cell[][] = r.replication.nodes.map((l) => [
    l.node,
    { text: l.state, tone: (l.state === 'caught-up' ? 'ok' : l.state === 'not-a-standby' ? 'dim' : 'warn') as Tone },
    bytes(l.replayBytes),
    l.replaySeconds === null ? '-' : l.replaySeconds.toFixed(1),
    l.lastReplayAt ?? '',
    l.note,
  ]);
  const seen = r.replication.standbys.map(
    (s) =>
      `${s.applicationName}${s.clientAddr ? ` (${s.clientAddr})` : ''}: ${s.state}, ${bytes(s.replayBytes)} bytes behind, replay_lag ${s.replayLagSeconds === null ? 'none (caught up, primary idle)' : `${s.replayLagSeconds.toFixed(3)} s`}`,
  );

  const nodeFindings = r.nodes.flatMap((n) =>
    n.result.findings.map((f) => ({ ...f, id: `${n.name}:${f.id}`, subject: `${n.name}:${f.subject}` })),
  );
  const all = [...nodeFindings, ...r.findings];
  const shown = all.filter((f) => f.status === 'fail' || f.status === 'warn');
  const sections: ReportSection[] = [
    {
      title: `Queries by node (${queryNames.length} queries, ${names.length} nodes)`,
      columns: ['query', ...names.map((n) => `${n} p95`), ...names.map((n) => `${n} plan`)],
      rows: queryRows,
      note: "p95 in ms, each node audited alone, one after the other. A plan in yellow differs from the primary's (replica-plan-differs).",
    },
    {
      title: 'Cache hit ratios by node',
      columns: ['node', 'scope', 'name', 'during audit', 'since stats reset'],
      rows: cacheRows,
      empty: 'no figures',
    },
    {
      title: 'Replication',
      columns: ['node', 'state', 'bytes behind', 'lag s', 'last replayed commit', 'note'],
      rows: lagRows,
      empty: 'no standby selected (--node all includes every database.replicas entry)',
      note: seen.length
        ? `The primary sees: ${seen.join('; ')}`
        : 'The primary reports no streaming standby in pg_stat_replication.',
    },
    {
      title: 'Findings',
      columns: ['', 'check', 'subject', 'message'],
      rows: shown.map((f) => [
        f.status === 'fail'
          ? { text: 'error', tone: 'bad' }
          : { text: strict ? 'warning (strict)' : 'warning', tone: strict ? 'bad' : 'warn' },
        f.code,
        f.subject,
        f.message,
      ]),
      empty: 'no findings',
    },
  ];
  const checks = findingChecks(all, strict);
  const failing = r.errors + (strict ? r.warnings : 0);
  const ok = failing === 0;
  const counts = `${r.errors} error${r.errors === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`;
  return {
    command: 'audit',
    title: `dbopt audit --node ${names.length > 1 ? 'all' : names[0]} (${names.join(', ')}${r.pooler !== 'none' ? `; through a ${r.pooler}-mode pooler` : ''})`,
    server: r.nodes.map((n) => `${n.name} ${n.result.server}`).join(', '),
    ok,
    summary: `${ok ? 'Audit passed' : 'Audit failed'} on ${names.length} node${names.length === 1 ? '' : 's'}: ${queryNames.length} queries, ${counts}.`,
    sections,
    checks,
    data: r,
  };
}
