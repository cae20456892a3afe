#!/usr/bin/env node
// bench/audit: wall time of `dbopt audit` over the reference queries (queries/*.sql) vs a bare
// node-pg loop issuing the same timed executions: per query one READ ONLY transaction, the same
// params rows, warm-ups and timed runs of the same named prepared statement (and, for the cold
// tier where the server allows it, the same evictions), ROLLBACK. The difference is what the
// audit adds: parsing files, sampling params, one EXPLAIN per query, cache snapshots, schema
// facts. Goal: ratio <= 1.3. Also prints each query's p95 against its budget.
//
//   node bench/audit.js [--scale 1] [--runs 200] [--repeats 3]
//
// Uses its own embedded PostgreSQL in a temp dir, or DBOPT_BENCH_DATABASE_URL (an admin URL; a
// database dbopt_bench_audit is created there and dropped at the end). Run `npm run build` first.
// (pgbench -t would need one process per query and parameter set; its start-up alone costs
// more than the audit's overhead, so the in-process loop is the fairer peer.)
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { audit } = await import(path.join(root, 'dist/audit/index.js'));
const { loadQueries } = await import(path.join(root, 'dist/audit/queryFile.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config.js'));
const { migrate } = await import(path.join(root, 'dist/migrate/index.js'));
const { seed } = await import(path.join(root, 'dist/seed/index.js'));
const { targetFromUrl } = await import(path.join(root, 'dist/db/connection.js'));
const { evictionSupport } = await import(path.join(root, 'dist/audit/runner.js'));
const { serverInfo } = await import(path.join(root, 'dist/catalog/server.js'));
const { analyzePlan } = await import(path.join(root, 'dist/audit/plan.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const scale = Number(arg('scale', '1'));
const runs = Number(arg('runs', '200'));
const repeats = Number(arg('repeats', '3'));

let adminUrl = process.env.DBOPT_BENCH_DATABASE_URL;
let server;
let base;
if (!adminUrl) {
  const { startEmbedded } = await import(path.join(root, 'dist/db/embedded.js'));
  base = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-audit-'));
  chmodSync(base, 0o755);
  server = await startEmbedded({ dir: base, database: 'postgres' });
  adminUrl = server.adminUrl;
}
const dbName = 'dbopt_bench_audit';
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

try {
  const t0 = performance.now();
  await migrate({ target, dir: path.join(root, 'migrations'), direction: 'up' });
  await seed({ target, dir: path.join(root, 'seeds'), scale });
  const c = new pg.Client({ connectionString: urlFor(dbName) });
  await c.connect();
  for (const v of ['analytics.daily_bot_activity', 'analytics.user_engagement', 'analytics.bot_engagement_summary'])
    await c.query(`REFRESH MATERIALIZED VIEW ${v}`);
  await c.query('VACUUM ANALYZE');
  await c.query('CREATE EXTENSION IF NOT EXISTS pg_buffercache').catch(() => undefined);
  console.log(
    `scale ${scale} loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${runs} timed runs per query, ${repeats} repeats`,
  );

  const config = resolveConfig({}, { rootDir: root, env: {}, overrides: {} });
  const auditCfg = { ...config.audit, runs };
  const queries = await loadQueries(path.join(root, 'queries'), { tiers: auditCfg.tiers });
  const info = await serverInfo(c);
  const eviction = await evictionSupport(c, info);

  // The peer: the same executions, nothing else.
  async function bareLoop() {
    const client = new pg.Client({ connectionString: urlFor(dbName), application_name: 'bench' });
    await client.connect();
    const RAW = { getTypeParser: () => (v) => v };
    const start = performance.now();
    for (const [i, q] of queries.entries()) {
      await client.query('BEGIN READ ONLY');
      const params =
        q.params ??
        (q.paramsFrom ? (await client.query({ text: q.paramsFrom.text, rowMode: 'array', types: RAW })).rows : [[]]);
      let relations = [];
      const cold = q.cold && eviction.supported;
      if (cold) {
        const { rows } = await client.query({
          text: `EXPLAIN (VERBOSE, FORMAT JSON) ${q.text}`,
          values: params[0].slice(0, q.placeholders),
        });
        relations = analyzePlan(rows[0]['QUERY PLAN'][0]).relations;
      }
      let n = 0;
      const name = `bare_${i}`;
      const warm = cold ? 1 : auditCfg.warmup;
      for (let w = 0; w < warm; w++)
        await client.query({ name, text: q.text, values: params[n++ % params.length].slice(0, q.placeholders) });
      for (let r = 0; r < runs; r++) {
        if (cold)
          await client.query(
            `SELECT sum(e.buffers_evicted) FROM unnest($1::text[]) AS r(name) CROSS JOIN LATERAL pg_buffercache_evict_relation(to_regclass(r.name)) AS e`,
            [relations],
          );
        const s = process.hrtime.bigint();
        await client.query({ name, text: q.text, values: params[n++ % params.length].slice(0, q.placeholders) });
        void (process.hrtime.bigint() - s);
      }
      await client.query('ROLLBACK');
    }
    const ms = performance.now() - start;
    await client.end();
    return ms;
  }
  async function auditRun() {
    const start = performance.now();
    const result = await audit({
      target,
      audit: auditCfg,
      refresh: config.refresh,
      queriesDir: path.join(root, 'queries'),
      baselineFile: path.join(tmpdir(), 'dbopt-bench-no-baseline.json'),
    });
    return { ms: performance.now() - start, result };
  }

  const audits = [];
  const bares = [];
  let last;
  for (let r = 0; r < repeats; r++) {
    // Alternate the order so neither side always runs on a warmer cache.
    if (r % 2 === 0) {
      bares.push(await bareLoop());
      const a = await auditRun();
      audits.push(a.ms);
      last = a.result;
    } else {
      const a = await auditRun();
      audits.push(a.ms);
      last = a.result;
      bares.push(await bareLoop());
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const a = median(audits);
  const b = median(bares);
  console.log('');
  console.log('| query | tier | budget ms | p50 ms | p95 ms | p95 / budget | plan |');
  console.log('|---|---|---|---|---|---|---|');
  for (const q of last.queries) {
    console.log(
      `| ${q.name} | ${q.tier ?? ''}${q.cold ? (q.cold.mode === 'evicted' ? ' (evicted)' : ' (warm: unsupported)') : ''} | ${q.budgetMs} | ${q.latency?.p50.toFixed(3) ?? q.status} | ${q.latency?.p95.toFixed(3) ?? q.status} | ${q.latency ? (q.latency.p95 / q.budgetMs).toFixed(3) : '-'} | ${q.plan?.shape ?? ''} |`,
    );
  }
  console.log('');
  console.log('| run | median wall ms | all |');
  console.log('|---|---|---|');
  console.log(`| dbopt audit | ${a.toFixed(0)} | ${audits.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log(
    `| bare node-pg loop (same executions) | ${b.toFixed(0)} | ${bares.map((x) => x.toFixed(0)).join(', ')} |`,
  );
  console.log('');
  console.log(
    `ratio audit / bare loop: ${(a / b).toFixed(2)}x (goal <= 1.3x); findings: ${last.errors} errors, ${last.warnings} warnings; PostgreSQL ${info.version}`,
  );
  console.log(
    `RESULT ${JSON.stringify({ bench: 'audit', measure: `audit wall time, 8 reference queries x ${runs} runs, scale ${scale}`, value: `${a.toFixed(0)} ms`, peer: `bare node-pg loop, same executions (${b.toFixed(0)} ms)`, ratio: +(a / b).toFixed(2), goal: '<= 1.3x', met: a / b <= 1.3 })}`,
  );
  await c.end();
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  if (server) await server.stop();
  if (base) rmSync(base, { recursive: true, force: true });
}
