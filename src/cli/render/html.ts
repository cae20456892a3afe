// --format html: one self-contained page to look at, that opens offline and makes no network
// request (a Content-Security-Policy forbids any): the verdict; per query its latency against
// its budget (and under load, when the result carries load figures), its plan as a tree with
// the most expensive node marked, its findings; cache hit ratios as bars against the threshold;
// index usage; view staleness over time from dbopt.refresh_history; then every table of the
// report. Charts are Chart.js, read from node_modules at render time and inlined.
// Every string from the database or a file is escaped (text in markup through escapeHtml, data
// for the charts as JSON inside a non-executable script element with "<" escaped), and the
// renderer reads the result defensively: fields it does not know are ignored, missing ones
// leave their part out.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { cellText, isTableSection, type Cell, type Report, type ReportCheck } from '../../report.js';
import { groupFindings, splitHelp } from './blocks.js';
import type { PlanTreeNode } from '../../audit/plan.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** JSON safe inside <script type="application/json">: no "</script>", no line separators. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

let chartJs: string | undefined;
/** Chart.js's UMD build, as shipped in node_modules (a dependency of dbopt). */
export function chartLibrary(): string {
  if (chartJs === undefined) {
    const require = createRequire(import.meta.url);
    const dist = path.dirname(require.resolve('chart.js'));
    const text = readFileSync(path.join(dist, 'chart.umd.min.js'), 'utf8');
    chartJs = text.replace(/<\/(script)/gi, '<\\/$1').replace(/\/\/# sourceMappingURL=\S+/g, '');
  }
  return chartJs;
}

// ---- reading the result defensively ----
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const fmtMs = (n: number | undefined): string =>
  n === undefined ? '–' : n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US');
const fmtN = (n: number | undefined): string =>
  n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 2 });

interface ChartSpec {
  id: string;
  /** x values are epoch milliseconds: ticks print as dates. */
  timeAxis?: boolean;
  config: unknown;
}

const COLORS = { ok: '#2e7d32', bad: '#c62828', warn: '#ef6c00', budget: '#6a1b9a', load: '#1565c0', grey: '#90a4ae' };
const PALETTE = ['#1565c0', '#2e7d32', '#ef6c00', '#6a1b9a', '#00838f', '#ad1457', '#5d4037', '#455a64'];

function slug(i: number, prefix: string): string {
  return `${prefix}-${i}`;
}

// ---- pieces ----
function findingHtml(group: ReportCheck[]): string {
  const first = group[0]!;
  const severity = first.status === 'fail' ? 'error' : 'warning';
  const { message, help } = splitHelp(first);
  const members = [...new Set(group.map((c) => c.group?.member ?? c.subject))];
  const subject =
    group.length > 1 && first.group ? `${first.group.parent} (${members.length} ${first.group.kind})` : first.subject;
  const where = first.file ? `${first.file}${first.line ? `:${first.line}` : ''}` : '';
  return `<div class="finding ${severity}">
<div class="head"><span class="sev">${severity}[${escapeHtml(first.code)}]</span> <span class="subj">${escapeHtml(subject)}</span>: ${escapeHtml(message)}</div>
${where ? `<div class="where">--&gt; ${escapeHtml(where)}</div>` : ''}
${group.length > 1 ? `<div class="members">${escapeHtml(first.group?.kind ?? 'members')}: ${escapeHtml(members.join(', '))}</div>` : ''}
${help ? `<div class="help">help: ${escapeHtml(help)}</div>` : ''}
</div>`;
}

function findingsHtml(checks: ReportCheck[]): string {
  const groups = groupFindings(checks);
  return groups.length ? groups.map((g) => findingHtml(g.checks)).join('\n') : '<p class="dim">no findings</p>';
}

/** A plan tree as the audit result carries it (read defensively: the result may come from a file). */
type TreeNode = PlanTreeNode;

function readTree(v: unknown): TreeNode | undefined {
  if (!isObj(v) || typeof v.node !== 'string') return undefined;
  return {
    node: v.node,
    cost: num(v.cost) ?? 0,
    planRows: num(v.planRows) ?? 0,
    actualRows: num(v.actualRows),
    loops: num(v.loops),
    totalMs: num(v.totalMs),
    sharedHit: num(v.sharedHit),
    sharedRead: num(v.sharedRead),
    children: arr(v.children)
      .map(readTree)
      .filter((t): t is TreeNode => Boolean(t)),
  };
}

/** The node with the most time of its own (its time less its children's), else the most cost of its own. */
function expensiveNode(root: TreeNode): TreeNode {
  const all: TreeNode[] = [];
  const walk = (n: TreeNode): void => {
    all.push(n);
    n.children.forEach(walk);
  };
  walk(root);
  const timed = all.every((n) => n.totalMs !== undefined);
  const own = (n: TreeNode): number =>
    timed
      ? n.totalMs! - n.children.reduce((s, c) => s + (c.totalMs ?? 0), 0)
      : n.cost - n.children.reduce((s, c) => s + c.cost, 0);
  return all.reduce((best, n) => (own(n) > own(best) ? n : best), root);
}

function treeHtml(root: TreeNode): string {
  const hot = expensiveNode(root);
  const li = (n: TreeNode): string => {
    const figures = [
      `cost ${fmtN(n.cost)}`,
      `rows ${fmtN(n.planRows)} est${n.actualRows !== undefined ? ` / ${fmtN(n.actualRows)} actual` : ''}${n.loops && n.loops > 1 ? ` × ${fmtN(n.loops)} loops` : ''}`,
      n.totalMs !== undefined ? `${fmtMs(n.totalMs)} ms` : '',
      n.sharedHit !== undefined ? `buffers ${fmtN(n.sharedHit)} hit / ${fmtN(n.sharedRead ?? 0)} read` : '',
    ]
      .filter(Boolean)
      .join(' · ');
    const mark = n === hot ? ' <span class="badge">most expensive</span>' : '';
    return `<li><div class="pnode${n === hot ? ' hot' : ''}"><b>${escapeHtml(n.node)}</b>${mark}<div class="fig">${escapeHtml(figures)}</div></div>${n.children.length ? `<ul>${n.children.map(li).join('')}</ul>` : ''}</li>`;
  };
  return `<ul class="tree">${li(root)}</ul>`;
}

function tableHtml(columns: string[], rows: Cell[][]): string {
  const cell = (c: Cell): string => {
    const tone = c !== null && typeof c === 'object' ? ` class="t-${c.tone}"` : '';
    const text = cellText(c);
    const numeric = typeof c === 'number' || /^[-+]?[\d,.]+( ?(ms|%|MB|kB|GB|B|min))?$/.test(text);
    return `<td${tone}${numeric ? ' style="text-align:right"' : ''}>${escapeHtml(text)}</td>`;
  };
  return `<table><thead><tr>${columns.map((c) => `<th>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`).join('')}</tbody></table>`;
}

/** Per-query load figures, wherever a load phase put them: on the query, or in result.load by name. */
function loadFigures(data: Obj, query: Obj): Obj | undefined {
  if (isObj(query.load)) return query.load;
  const load = data.load;
  if (isObj(load)) {
    const qs = load.queries;
    if (isObj(qs) && isObj(qs[String(query.name)])) return qs[String(query.name)] as Obj;
    const found = arr(qs).find((q) => isObj(q) && (q.name === query.name || q.query === query.name));
    if (isObj(found)) return found;
  }
  return undefined;
}

function loadTable(load: Obj): string {
  const rows: Cell[][] = [];
  const visit = (prefix: string, v: unknown): void => {
    if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
      rows.push([prefix, typeof v === 'number' ? fmtN(v) : String(v)]);
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) visit(prefix ? `${prefix}.${k}` : k, x);
  };
  visit('', load);
  return rows.length ? tableHtml(['under load', 'value'], rows.slice(0, 40)) : '';
}

// ---- the page ----
export function renderHtml(report: Report, opts: { generatedAt?: Date } = {}): string {
  const data: Obj = isObj(report.data) ? report.data : {};
  const charts: ChartSpec[] = [];
  const body: string[] = [];
  const generated = (opts.generatedAt ?? new Date()).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  const fails = report.checks.filter((c) => c.status === 'fail').length;
  const warns = report.checks.filter((c) => c.status === 'warn').length;
  const queries = report.command === 'audit' ? arr(data.queries).filter(isObj) : [];
  const queryNames = new Set(queries.map((q) => String(q.name)));

  body.push(`<section id="summary" class="verdict ${report.ok ? 'ok' : 'fail'}">
<h2>${report.ok ? 'Passed' : 'Failed'}</h2>
<p>${escapeHtml(report.summary)}</p>
<div class="tiles">${report.command === 'audit' ? `<div><b>${queries.length}</b> queries</div>` : ''}<div><b>${fails}</b> errors</div><div><b>${warns}</b> warnings</div></div>
</section>`);

  if (queries.length) {
    const rows: Cell[][] = queries.map((q, i) => {
      const lat = isObj(q.latency) ? q.latency : {};
      const budget = num(q.budgetMs);
      const p95 = num(lat.p95);
      const qf = report.checks.filter((c) => c.subject === q.name);
      const verdict =
        q.status !== 'measured'
          ? String(q.status)
          : qf.some((c) => c.status === 'fail')
            ? 'error'
            : qf.some((c) => c.status === 'warn')
              ? 'warning'
              : 'ok';
      return [
        `${i + 1}. ${String(q.name)}`,
        str(q.tier) ?? 'budget',
        fmtMs(p95),
        fmtMs(budget),
        { text: verdict, tone: verdict === 'ok' ? 'ok' : verdict === 'warning' ? 'warn' : 'bad' },
      ];
    });
    body.push(
      `<section id="queries"><h2>Queries</h2>${tableHtml(['query', 'tier', 'p95 ms', 'budget ms', 'verdict'], rows)}</section>`,
    );
    queries.forEach((q, i) => body.push(querySection(report, data, q, i, charts)));
  }

  const other = report.checks.filter((c) => !queryNames.has(c.subject));
  if (other.some((c) => c.status === 'fail' || c.status === 'warn') || report.command !== 'audit') {
    body.push(
      `<section id="findings"><h2>${queries.length ? 'Schema findings' : 'Findings'}</h2>${findingsHtml(other)}</section>`,
    );
  }

  const cacheRows = arr(data.cache).length ? arr(data.cache) : isObj(data.cache) ? arr((data.cache as Obj).ratios) : [];
  const threshold = num(isObj(data.cache) ? (data.cache as Obj).minRatio : undefined) ?? 0.9;
  if (cacheRows.length) body.push(cacheSection(cacheRows.filter(isObj), threshold, charts));

  if (queries.length) body.push(indexUsageSection(queries, report.checks));
  const timeline = arr(data.refreshTimeline).filter(isObj);
  if (timeline.length) body.push(stalenessSection(timeline, arr(data.views).filter(isObj), charts));

  const tables = report.sections
    .filter((s) => !(isTableSection(s) && s.role === 'findings'))
    .map((s) => {
      const inner = isTableSection(s)
        ? (s.rows.length
            ? tableHtml(s.columns, s.rows)
            : `<p class="dim">${escapeHtml(s.empty ?? 'nothing to show')}</p>`) +
          (s.note ? `<p class="note">${escapeHtml(s.note)}</p>` : '')
        : `<ul>${s.lines.map((l) => `<li class="t-${l.tone ?? 'none'}">${escapeHtml(l.text)}</li>`).join('')}</ul>`;
      return `<h3>${escapeHtml(s.title)}</h3>${inner}`;
    })
    .join('\n');
  body.push(
    `<section id="tables"><details${queries.length ? '' : ' open'}><summary><h2>All tables</h2></summary>${tables}</details></section>`,
  );

  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${escapeHtml(report.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${escapeHtml(report.title)}</h1><div class="dim">${escapeHtml(report.server ?? '')} · generated ${escapeHtml(generated)}</div></header>
<main>
${body.join('\n')}
</main>
<script type="application/json" id="dbopt-charts">${scriptJson(charts)}</script>
${charts.length ? `<script>${chartLibrary()}</script>\n<script>${BOOT}</script>` : ''}
</body>
</html>
`;
}

function querySection(report: Report, data: Obj, q: Obj, i: number, charts: ChartSpec[]): string {
  const name = String(q.name);
  const lat = isObj(q.latency) ? q.latency : undefined;
  const budget = num(q.budgetMs);
  const parts: string[] = [];
  const meta = [
    str(q.file) ? `${q.file}:${num(q.line) ?? 1}` : '',
    str(q.tier) ? `tier ${q.tier}` : '',
    budget !== undefined ? `budget ${fmtMs(budget)} ms (${str(q.budgetSource) ?? 'p95'})` : '',
    str(q.status) && q.status !== 'measured' ? String(q.status) : '',
  ]
    .filter(Boolean)
    .join(' · ');
  const load = loadFigures(data, q);
  const loadLat = load && isObj(load.latency) ? load.latency : load;
  if (lat) {
    const keys = ['min', 'p50', 'p95', 'p99', 'max'] as const;
    const values = keys.map((k) => num(lat[k]) ?? null);
    const datasets: unknown[] = [
      {
        type: 'bar',
        label: 'latency (ms)',
        data: values,
        backgroundColor: values.map((v) => (budget !== undefined && v !== null && v > budget ? COLORS.bad : COLORS.ok)),
      },
    ];
    if (loadLat && keys.some((k) => num(loadLat[k]) !== undefined)) {
      datasets.push({
        type: 'bar',
        label: 'under load (ms)',
        data: keys.map((k) => num(loadLat[k]) ?? null),
        backgroundColor: COLORS.load,
      });
    }
    if (budget !== undefined)
      datasets.push({
        type: 'line',
        label: `budget ${fmtMs(budget)} ms`,
        data: keys.map(() => budget),
        borderColor: COLORS.budget,
        borderDash: [6, 4],
        pointRadius: 0,
        fill: false,
      });
    charts.push({
      id: slug(i, 'lat'),
      config: {
        type: 'bar',
        data: { labels: [...keys], datasets },
        options: {
          responsive: true,
          maintainAspectRatio: false,
          plugins: { title: { display: true, text: `latency over ${fmtN(num(lat.runs))} runs vs budget` } },
          scales: { y: { beginAtZero: true, title: { display: true, text: 'ms' } } },
        },
      },
    });
    const hist = isObj(lat.histogram) ? lat.histogram : undefined;
    const counts = hist ? arr(hist.counts).map((c) => num(c) ?? 0) : [];
    let histCanvas = '';
    if (hist && counts.length) {
      const from = num(hist.fromMs) ?? 0;
      const step = ((num(hist.toMs) ?? from) - from) / counts.length;
      charts.push({
        id: slug(i, 'hist'),
        config: {
          type: 'bar',
          data: {
            labels: counts.map((_, k) => fmtMs(from + step * (k + 0.5))),
            datasets: [
              {
                label: 'runs',
                data: counts,
                backgroundColor: counts.map((_, k) =>
                  budget !== undefined && from + step * k > budget ? COLORS.bad : COLORS.grey,
                ),
              },
            ],
          },
          options: {
            responsive: true,
            maintainAspectRatio: false,
            plugins: { legend: { display: false }, title: { display: true, text: 'distribution of runs (ms)' } },
            scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
          },
        },
      });
      histCanvas = `<div class="chart"><canvas id="${slug(i, 'hist')}"></canvas></div>`;
    }
    parts.push(
      `<div class="charts"><div class="chart"><canvas id="${slug(i, 'lat')}"></canvas></div>${histCanvas}</div>`,
    );
  } else {
    parts.push('<p class="dim">not measured</p>');
  }
  if (load) parts.push(loadTable(load));
  const plan = isObj(q.plan) ? q.plan : undefined;
  const tree = readTree(plan?.tree);
  if (tree) parts.push(`<h3>Plan</h3>${treeHtml(tree)}`);
  else if (plan && str(plan.shape)) parts.push(`<h3>Plan</h3><p><code>${escapeHtml(plan.shape)}</code></p>`);
  const err = isObj(q.error) ? q.error : undefined;
  if (err) parts.push(`<pre class="error">${escapeHtml(arr(err.lines).join('\n') || str(err.message))}</pre>`);
  parts.push(`<h3>Findings</h3>${findingsHtml(report.checks.filter((c) => c.subject === name))}`);
  return `<section class="query" id="${slug(i, 'q')}" data-query="${escapeHtml(name)}"><h2>${i + 1}. ${escapeHtml(name)}</h2><div class="dim">${escapeHtml(meta)}</div>${parts.join('\n')}</section>`;
}

function cacheSection(rows: Obj[], threshold: number, charts: ChartSpec[]): string {
  // During the audit when judged there, else since the stats reset (dbopt report has only that).
  const pick = (r: Obj): Obj | undefined =>
    [r.delta, r.cumulative].find((x) => isObj(x) && num(x.ratio) !== undefined) as Obj | undefined;
  const shown = rows.filter((r) => pick(r)).slice(0, 40);
  const labels = shown.map((r) => `${String(r.scope ?? '')} ${String(r.name ?? '')}`.trim());
  const ratios = shown.map((r) => Math.round((num(pick(r)!.ratio) ?? 0) * 1000) / 10);
  charts.push({
    id: 'chart-cache',
    config: {
      type: 'bar',
      data: {
        labels,
        datasets: [
          {
            type: 'bar',
            label: 'hit ratio %',
            data: ratios,
            backgroundColor: ratios.map((v) => (v < threshold * 100 ? COLORS.warn : COLORS.ok)),
          },
          {
            type: 'line',
            label: `threshold ${threshold * 100} %`,
            data: labels.map(() => threshold * 100),
            borderColor: COLORS.budget,
            borderDash: [6, 4],
            pointRadius: 0,
            fill: false,
          },
        ],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { min: 0, max: 100, title: { display: true, text: '%' } } },
      },
    },
  });
  return `<section id="cache"><h2>Cache hit ratios</h2><div class="chart wide"><canvas id="chart-cache"></canvas></div><p class="note">Bars below the threshold (audit.minCacheHitRatio ${escapeHtml(threshold)}) are orange; only ratios with data are drawn.</p></section>`;
}

function indexUsageSection(queries: Obj[], checks: ReportCheck[]): string {
  const users = new Map<string, string[]>();
  for (const q of queries) {
    const plan = isObj(q.plan) ? q.plan : {};
    for (const ix of arr(plan.indexesUsed)) users.set(String(ix), [...(users.get(String(ix)) ?? []), String(q.name)]);
  }
  const rows: Cell[][] = [...users]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([ix, qs]) => [ix, qs.length, qs.join(', ')]);
  const flagged = checks.filter(
    (c) =>
      ['duplicate-index', 'unused-index', 'invalid-index', 'fk-without-index'].includes(c.code) &&
      (c.status === 'fail' || c.status === 'warn'),
  );
  return `<section id="indexes"><h2>Index usage</h2>${rows.length ? tableHtml(['index', 'queries', 'used by'], rows) : '<p class="dim">no declared query uses an index</p>'}
<h3>Index findings</h3>${findingsHtml(flagged)}</section>`;
}

function stalenessSection(events: Obj[], views: Obj[], charts: ChartSpec[]): string {
  // Age of each view's data: a point at each refresh (how old it was just before), then 0 when it succeeded, and now.
  const byView = new Map<string, { x: number; y: number }[]>();
  const last = new Map<string, number>();
  for (const e of events) {
    const view = String(e.view);
    const t = Date.parse(String(e.startedAt));
    if (!Number.isFinite(t)) continue;
    const pts = byView.get(view) ?? [];
    const prev = last.get(view);
    if (prev !== undefined) pts.push({ x: t, y: Math.round((t - prev) / 6000) / 10 });
    if (e.outcome === 'ok') {
      pts.push({ x: t, y: 0 });
      last.set(view, t);
    }
    byView.set(view, pts);
  }
  const now = Date.now();
  for (const [view, t] of last) byView.get(view)!.push({ x: now, y: Math.round((now - t) / 6000) / 10 });
  const datasets = [...byView].slice(0, PALETTE.length * 2).map(([view, pts], k) => ({
    type: 'line',
    label: view,
    data: pts,
    borderColor: PALETTE[k % PALETTE.length],
    pointRadius: 2,
    fill: false,
    stepped: false,
  }));
  charts.push({
    id: 'chart-staleness',
    timeAxis: true,
    config: {
      type: 'line',
      data: { datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        parsing: true,
        scales: {
          x: { type: 'linear' },
          y: { beginAtZero: true, title: { display: true, text: 'minutes since the data was refreshed' } },
        },
      },
    },
  });
  const overdue = views.filter((v) => v.overdue === true).map((v) => String(v.view));
  return `<section id="staleness"><h2>View staleness over time</h2><div class="chart wide"><canvas id="chart-staleness"></canvas></div><p class="note">From dbopt.refresh_history, last 7 days: each view's data age drops to 0 at a successful refresh.${overdue.length ? ` Overdue now: ${escapeHtml(overdue.join(', '))}.` : ''}</p></section>`;
}

const BOOT = `(function () {
  var specs = JSON.parse(document.getElementById('dbopt-charts').textContent);
  Chart.defaults.animation = false;
  Chart.defaults.font.family = 'system-ui, sans-serif';
  specs.forEach(function (s) {
    var el = document.getElementById(s.id);
    if (!el) return;
    if (s.timeAxis) {
      s.config.options.scales.x.ticks = { callback: function (v) { return new Date(v).toISOString().slice(5, 16).replace('T', ' '); } };
    }
    new Chart(el, s.config);
  });
  document.body.setAttribute('data-charts', String(specs.length));
})();`;

const CSS = `
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f2933;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}header .dim{color:#cbd2d9}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}
h2{margin:0 0 8px;font-size:18px}h3{font-size:15px;margin:14px 0 6px}
.verdict.ok{border-left:8px solid ${COLORS.ok}}.verdict.fail{border-left:8px solid ${COLORS.bad}}
.verdict.ok h2{color:${COLORS.ok}}.verdict.fail h2{color:${COLORS.bad}}
.tiles{display:flex;gap:24px}.tiles b{font-size:22px;display:block}
table{border-collapse:collapse;width:100%;margin:6px 0;font-size:13px}th,td{border-bottom:1px solid #e4e7eb;padding:4px 8px;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f0f4f8}
.t-ok{color:${COLORS.ok}}.t-bad{color:${COLORS.bad};font-weight:600}.t-warn{color:${COLORS.warn}}.t-dim,.dim{color:#7b8794}.t-info{color:#1565c0}
.note{color:#52606d;font-size:12px}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:16px}.chart{position:relative;height:220px}.chart.wide{height:280px}
.tree,.tree ul{list-style:none;padding-left:18px;margin:4px 0}.tree{padding-left:0}
.pnode{border-left:3px solid #cbd2d9;padding:2px 8px;margin:3px 0}.pnode .fig{color:#52606d;font-size:12px}
.pnode.hot{border-left-color:${COLORS.bad};background:#fdecea}.badge{background:${COLORS.bad};color:#fff;border-radius:4px;padding:0 6px;font-size:11px;margin-left:6px}
.finding{font-family:ui-monospace,monospace;font-size:12.5px;border-left:4px solid ${COLORS.warn};background:#fff8e1;padding:6px 10px;margin:6px 0;overflow-wrap:anywhere}
.finding.error{border-left-color:${COLORS.bad};background:#fdecea}.finding .sev{font-weight:700}.finding.error .sev{color:${COLORS.bad}}.finding.warning .sev{color:${COLORS.warn}}
.finding .where{color:#1565c0}.finding .help{color:#00695c}.finding .members{color:#52606d}
pre.error{background:#fdecea;padding:8px;white-space:pre-wrap}
summary h2{display:inline}
`;
