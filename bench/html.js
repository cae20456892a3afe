#!/usr/bin/env node
// bench/html: render time and size of `--format html` for the reference audit (the 8 queries of
// queries/, their plans, latency histograms, findings, cache ratios) and for `dbopt report`, vs
// the --format json renderer over the same report (the cheapest format: one serialisation).
// Goals: under 200 ms and under 1 MB including the inlined Chart.js.
//
//   node bench/html.js [--scale 1] [--renders 20]
//
// Uses its own embedded PostgreSQL in a temp dir, or DBOPT_BENCH_DATABASE_URL (an admin URL; a
// database dbopt_bench_html is created there and dropped at the end). Run `npm run build` first.
// The first render reads Chart.js from node_modules; it is reported apart from the median.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { audit } = await import(path.join(root, 'dist/audit/index.js'));
const { auditReport } = await import(path.join(root, 'dist/audit/report.js'));
const { health } = await import(path.join(root, 'dist/health/index.js'));
const { healthReport } = await import(path.join(root, 'dist/health/report.js'));
const { refreshViews } = await import(path.join(root, 'dist/refresh/index.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config.js'));
const { migrate } = await import(path.join(root, 'dist/migrate/index.js'));
const { seed } = await import(path.join(root, 'dist/seed/index.js'));
const { targetFromUrl } = await import(path.join(root, 'dist/db/connection.js'));
const { renderHtml } = await import(path.join(root, 'dist/cli/render/html.js'));
const { renderJson } = await import(path.join(root, 'dist/cli/render/json.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const scale = Number(arg('scale', '1'));
const renders = Number(arg('renders', '20'));

let adminUrl = process.env.DBOPT_BENCH_DATABASE_URL;
let server;
let base;
if (!adminUrl) {
  const { startEmbedded } = await import(path.join(root, 'dist/db/embedded.js'));
  base = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-html-'));
  chmodSync(base, 0o755);
  server = await startEmbedded({ dir: base, database: 'postgres' });
  adminUrl = server.adminUrl;
}
const dbName = 'dbopt_bench_html';
const urlFor = (db) => {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
};
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${dbName}`);
const target = targetFromUrl(urlFor(dbName), 'bench');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn) {
  const first = performance.now();
  let out = fn();
  const firstMs = performance.now() - first;
  const all = [];
  for (let i = 0; i < renders; i++) {
    const t = performance.now();
    out = fn();
    all.push(performance.now() - t);
  }
  return { firstMs, ms: median(all), bytes: Buffer.byteLength(out) };
}

try {
  await migrate({ target, dir: path.join(root, 'migrations'), direction: 'up' });
  await seed({ target, dir: path.join(root, 'seeds'), scale });
  const config = resolveConfig({}, { rootDir: root, env: {}, overrides: {} });
  const refresh = { ...config.refresh, include: ['analytics.*'], exclude: [] };
  await refreshViews({ target, settings: refresh, all: true });
  const result = await audit({
    target,
    audit: config.audit,
    refresh,
    queriesDir: path.join(root, 'queries'),
    baselineFile: path.join(root, 'queries', 'baseline.json'),
  });
  const report = auditReport(result);
  const h = healthReport(await health({ target, audit: config.audit, refresh }));
  const html = time(() => renderHtml(report));
  const json = time(() => renderJson(report));
  const rhtml = time(() => renderHtml(h));
  console.log('| render | first ms | median ms | size |');
  console.log('|---|---|---|---|');
  console.log(
    `| audit --format html | ${html.firstMs.toFixed(1)} | ${html.ms.toFixed(2)} | ${(html.bytes / 1024).toFixed(0)} kB |`,
  );
  console.log(
    `| audit --format json | ${json.firstMs.toFixed(1)} | ${json.ms.toFixed(2)} | ${(json.bytes / 1024).toFixed(0)} kB |`,
  );
  console.log(
    `| report --format html | ${rhtml.firstMs.toFixed(1)} | ${rhtml.ms.toFixed(2)} | ${(rhtml.bytes / 1024).toFixed(0)} kB |`,
  );
  // A CLI renders once per process: the goal is judged on the first render (Chart.js read from disk, code not yet warm).
  const worst = Math.max(html.firstMs, html.ms);
  console.log(
    `RESULT ${JSON.stringify({ bench: 'html', measure: `audit HTML render, first in the process (median of ${renders} more: ${html.ms.toFixed(1)} ms), ${result.queries.length} reference queries, scale ${scale}`, value: `${html.firstMs.toFixed(1)} ms`, peer: `--format json render, first in the process (${json.firstMs.toFixed(1)} ms)`, ratio: +(html.firstMs / json.firstMs).toFixed(1), goal: '< 200 ms', met: worst < 200 })}`,
  );
  console.log(
    `RESULT ${JSON.stringify({ bench: 'html', measure: `audit HTML size, Chart.js inlined, scale ${scale}`, value: `${(html.bytes / 1024).toFixed(0)} kB`, peer: `--format json (${(json.bytes / 1024).toFixed(0)} kB)`, ratio: +(html.bytes / json.bytes).toFixed(1), goal: '< 1 MB', met: html.bytes < 1 << 20 })}`,
  );
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  if (server) await server.stop();
  if (base) rmSync(base, { recursive: true, force: true });
}
