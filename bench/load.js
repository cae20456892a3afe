#!/usr/bin/env node
// bench/load: dbopt's load engine side by side with pgbench -M prepared on the same statement
// (recent_messages: a conversation's last 50 messages, ids cycled from the same 50 sampled
// conversations) and the same connection count:
//   1. throughput, closed model, 16 connections: pgbench -c 16 vs dbopt at 16 and 1000 in
//      flight (goal >= 0.5x), and a plain pg.Pool loop at 1000 in flight for reference;
//   2. p95 at a fixed rate of half pgbench's maximum: dbopt's open model vs the p95 of pgbench
//      --rate's per-transaction log (both Poisson arrivals counted from the scheduled start, both
//      after a 1 s warm-up neither counts; the median of --open-repeats interleaved pairs; goal
//      within 25 %; --open-rate R compares at R/s instead);
//   3. bookkeeping: the engine's CPU per request vs a bare loop on the same wire client doing
//      the same requests without measuring them;
//   4. the audit's single-client p50 vs pgbench -c 1 (goal <= 1.5x): both under the server's plan
//      cache (audit.planCache "auto"; the generic plan from the sixth execution on), and, for
//      reference, both with custom plans forced (audit.planCache "custom" vs PGOPTIONS).
//
//   node bench/load.js [--scale 1] [--seconds 5] [--open-repeats 5] [--open-rate R]
//
// Uses its own embedded PostgreSQL in a temp dir, or DBOPT_BENCH_DATABASE_URL (an admin URL; a
// database dbopt_bench_load is created there and dropped at the end). Run `npm run build` first.
// pgbench: PGBENCH, else /usr/lib/postgresql/<major>/bin/pgbench, else on PATH; "no pgbench" otherwise.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { runLoad } = await import(path.join(root, 'dist/audit/load/engine.js'));
const { migrate } = await import(path.join(root, 'dist/migrate/index.js'));
const { seed } = await import(path.join(root, 'dist/seed/index.js'));
const { targetFromUrl } = await import(path.join(root, 'dist/db/connection.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config.js'));
const { audit } = await import(path.join(root, 'dist/audit/index.js'));
const { loadConnection } = await import(path.join(root, 'dist/audit/load/connections.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const scale = Number(arg('scale', '1'));
const seconds = Number(arg('seconds', '5'));
const openRepeats = Number(arg('open-repeats', '5'));
const openRate = arg('open-rate') === undefined ? undefined : Number(arg('open-rate'));
if (openRate !== undefined && !(openRate > 0)) {
  console.error(`--open-rate ${arg('open-rate')}: give a rate in requests per second, e.g. --open-rate 5000`);
  process.exit(2);
}
const CONNS = 16;
/** The load engine's warm-up, and pgbench's at a fixed rate: not counted by either. */
const WARMUP_S = 1;

const TEXT =
  'SELECT id, direction, body, created_at\nFROM messages\nWHERE conversation_id = $1\nORDER BY created_at DESC\nLIMIT 50';
const PARAMS_FROM = 'SELECT id FROM conversations WHERE id % 600 = 7 ORDER BY id LIMIT 50';

function findPgbench() {
  if (process.env.PGBENCH) return existsSync(process.env.PGBENCH) ? process.env.PGBENCH : undefined;
  for (const major of [18, 17, 16, 15, 14, 13]) {
    const p = `/usr/lib/postgresql/${major}/bin/pgbench`;
    if (existsSync(p)) return p;
  }
  const which = spawnSync('sh', ['-c', 'command -v pgbench'], { encoding: 'utf8' });
  return which.status === 0 ? which.stdout.trim() : undefined;
}

let adminUrl = process.env.DBOPT_BENCH_DATABASE_URL;
let server;
let base;
if (!adminUrl) {
  const { startEmbedded } = await import(path.join(root, 'dist/db/embedded.js'));
  base = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-load-'));
  chmodSync(base, 0o755);
  server = await startEmbedded({ dir: base, database: 'postgres' });
  adminUrl = server.adminUrl;
}
const dbName = 'dbopt_bench_load';
const urlFor = (db) => {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
};
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${dbName}`);
const url = urlFor(dbName);
const target = targetFromUrl(url, 'bench');
const pgbench = findPgbench();
const results = [];
const result = (r) => {
  results.push(r);
  console.log(`RESULT ${JSON.stringify(r)}`);
};

try {
  const t0 = performance.now();
  await migrate({ target, dir: path.join(root, 'migrations'), direction: 'up' });
  await seed({ target, dir: path.join(root, 'seeds'), scale });
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query('VACUUM ANALYZE');
  const ids = (await c.query({ text: PARAMS_FROM, rowMode: 'array' })).rows.map((r) => String(r[0]));
  console.log(
    `load average ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(
        ' ',
      )} on ${os.cpus().length} cores; scale ${scale} loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${seconds} s per run; pgbench: ${pgbench ?? 'none'}`,
  );
  const query = { name: 'recent_messages', text: TEXT, weight: 1, params: ids.map((id) => [id]), placeholders: 1 };
  const load = (model, extra = {}) =>
    runLoad({
      target,
      client: c,
      queries: [query],
      model,
      connections: CONNS,
      durationMs: seconds * 1000,
      warmupMs: WARMUP_S * 1000,
      statementTimeoutMs: 5000,
      lockTimeoutMs: 1000,
      maxConnectionShare: 0.9,
      ...extra,
    });

  // pgbench: the same 50 ids, chosen at random per transaction.
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-pgbench-'));
  const script = path.join(dir, 'recent_messages.sql');
  writeFileSync(
    script,
    `\\set i random(0, ${ids.length - 1})\n\\set cid 7 + 600 * :i\n${TEXT.replace('$1', ':cid')};\n`,
  );
  // warmupS: run that much longer and keep only the transactions the log says were scheduled after
  // it, as the load engine does not count its warm-up (pgbench's first second at a fixed rate
  // carries new sessions' start-up: latencies up to 250 ms here, a sixth of its transactions).
  const bench = (args, env = {}, warmupS = 0) => {
    if (!pgbench) return undefined;
    rmSync(path.join(dir, 'logs'), { recursive: true, force: true });
    execFileSync('mkdir', ['-p', path.join(dir, 'logs')]);
    const out = execFileSync(
      pgbench,
      ['-n', '-M', 'prepared', '-f', script, '-T', String(seconds + warmupS), ...args, url],
      {
        cwd: path.join(dir, 'logs'),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...env },
      },
    );
    const tps = Number(/tps = ([\d.]+) \(without initial/.exec(out)?.[1] ?? /tps = ([\d.]+)/.exec(out)?.[1]);
    let latencies;
    if (args.includes('-l')) {
      // A log line: client, transaction, latency (µs, from the scheduled start under --rate),
      // script, and the end time in epoch seconds and microseconds.
      const rows = [];
      for (const f of readdirSync(path.join(dir, 'logs'))) {
        for (const line of readFileSync(path.join(dir, 'logs', f), 'utf8').split('\n')) {
          const cols = line.split(' ');
          if (cols.length < 6) continue;
          const latencyUs = Number(cols[2]);
          rows.push({ startUs: Number(cols[4]) * 1e6 + Number(cols[5]) - latencyUs, ms: latencyUs / 1000 });
        }
      }
      const first = rows.reduce((m, r) => Math.min(m, r.startUs), Infinity);
      latencies = rows
        .filter((r) => r.startUs >= first + warmupS * 1e6)
        .map((r) => r.ms)
        .sort((a, b) => a - b);
    }
    return { tps, latencies };
  };
  const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];

  // 1. Throughput, closed model.
  const pb16 = bench(['-c', String(CONNS), '-j', '2']);
  const at16 = await load({ kind: 'closed', concurrency: CONNS });
  const at1000 = await load({ kind: 'closed', concurrency: 1000 });
  const pool = await poolLoop(url, 1000, seconds);
  console.log('');
  console.log('| driver | connections | in flight | req/s | p50 ms | p95 ms | pool wait p95 ms | client CPU |');
  console.log('|---|---|---|---|---|---|---|---|');
  if (pb16) console.log(`| pgbench -M prepared | ${CONNS} | ${CONNS} | ${pb16.tps.toFixed(0)} | – | – | – | – |`);
  for (const [label, r] of [
    ['dbopt load', at16],
    ['dbopt load', at1000],
  ]) {
    console.log(
      `| ${label} (pipeline ${r.pipeline}) | ${CONNS} | ${r.concurrency} | ${r.throughput.toFixed(0)} | ${r.latency.p50.toFixed(2)} | ${r.latency.p95.toFixed(2)} | ${r.poolWait.p95.toFixed(2)} | ${Math.round(r.client.cpuShare * 100)} % |`,
    );
  }
  console.log(`| plain pg.Pool loop | ${CONNS} | 1000 | ${pool.rps.toFixed(0)} | – | – | – | – |`);
  const best = Math.max(at16.throughput, at1000.throughput);
  result({
    bench: 'load',
    measure: `throughput, closed model, ${CONNS} connections, 1000 in flight (scale ${scale})`,
    value: `${at1000.throughput.toFixed(0)} req/s`,
    peer: pb16 ? `pgbench -M prepared -c ${CONNS} (${pb16.tps.toFixed(0)} tps)` : 'no pgbench',
    ratio: pb16 ? +(at1000.throughput / pb16.tps).toFixed(2) : NaN,
    goal: '>= 0.5x',
    met: pb16 ? at1000.throughput / pb16.tps >= 0.5 : false,
  });
  void best;

  // 2. p95 at half pgbench's maximum rate (or half dbopt's when there is no pgbench). Both draw
  // Poisson arrivals and count from the scheduled start; the pair runs `--open-repeats` times,
  // interleaved, and the medians are compared (one pair swings 2-5x on a shared machine).
  const rate = openRate ?? Math.round((pb16?.tps ?? at1000.throughput) / 2);
  const rateIs = openRate === undefined ? "half pgbench's max" : 'set by --open-rate';
  const ours = [];
  const theirs = [];
  for (let i = 0; i < openRepeats; i++) {
    const open = await load({ kind: 'open', rate });
    ours.push(open.latency.p95);
    const pbRate = bench(['-c', String(CONNS), '-j', '2', '-R', String(rate), '-l'], {}, WARMUP_S);
    if (pbRate) theirs.push(pct(pbRate.latencies, 0.95));
    console.log(
      `open model at ${rate}/s (${open.arrivals}): dbopt achieved ${open.throughput.toFixed(0)}/s, p50 ` +
        `${open.latency.p50.toFixed(3)} ms, p95 ${open.latency.p95.toFixed(3)} ms;` +
        (pbRate
          ? ` pgbench --rate: ${pbRate.tps.toFixed(0)} tps, p50 ${pct(pbRate.latencies, 0.5).toFixed(3)} ms, p95 ` +
            `${pct(pbRate.latencies, 0.95).toFixed(3)} ms (log, ${pbRate.latencies.length} transactions)`
          : ' no pgbench'),
    );
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const ourP95 = median(ours);
  const pbP95 = theirs.length ? median(theirs) : undefined;
  const agreement = pbP95 ? Math.abs(ourP95 - pbP95) / pbP95 : NaN;
  result({
    bench: 'load',
    measure: `p95 at ${rate}/s (${rateIs}), open model, Poisson arrivals, median of ${openRepeats}`,
    value: `${ourP95.toFixed(2)} ms`,
    // The spread of pgbench's own runs says how far two measurements of one thing lie apart here.
    peer: pbP95
      ? `pgbench --rate -l p95 (${pbP95.toFixed(2)} ms; its runs ${Math.min(...theirs).toFixed(2)}-` +
        `${Math.max(...theirs).toFixed(2)} ms, dbopt's ${Math.min(...ours).toFixed(2)}-${Math.max(...ours).toFixed(2)} ms)`
      : 'no pgbench',
    ratio: pbP95 ? +(ourP95 / pbP95).toFixed(2) : NaN,
    goal: 'within 25 %',
    met: pbP95 ? agreement <= 0.25 : false,
  });

  // 3. Bookkeeping: CPU per request of the engine vs a bare loop.
  const bare = await bareLoop(1000, seconds, query);
  console.log(
    `\nCPU per request: engine ${at1000.client.cpuPerRequestUs.toFixed(1)} µs, bare wire loop ${bare.cpuPerRequestUs.toFixed(1)} µs (${bare.rps.toFixed(0)} req/s)`,
  );
  result({
    bench: 'load',
    measure: 'client CPU per request, 1000 in flight',
    value: `${at1000.client.cpuPerRequestUs.toFixed(1)} µs`,
    peer: `bare wire loop (${bare.cpuPerRequestUs.toFixed(1)} µs)`,
    ratio: +(at1000.client.cpuPerRequestUs / bare.cpuPerRequestUs).toFixed(2),
    goal: 'report',
    met: true,
  });

  // 4. The audit's single-client p50 vs pgbench -c 1, plan for plan: the audit times the statement
  // under the server's plan cache as pgbench -M prepared runs it (generic plan after five
  // executions); with audit.planCache "custom" it plans every run, as pgbench does with
  // plan_cache_mode=force_custom_plan.
  const qdir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-q-'));
  writeFileSync(
    path.join(qdir, 'recent_messages.sql'),
    `-- name: recent_messages\n-- tier: hot\n-- params-from: ${PARAMS_FROM}\n${TEXT};\n`,
  );
  const config = resolveConfig({}, { rootDir: root, env: {}, overrides: {} });
  const timeSingle = async (planCache) => {
    const r = await audit({
      target,
      audit: { ...config.audit, runs: 2000, warmup: 50, planCache },
      refresh: config.refresh,
      queriesDir: qdir,
      baselineFile: path.join(qdir, 'baseline.json'),
    });
    return { p50: r.queries[0].latency.p50, plan: r.queries[0].timedPlan?.plan ?? '?' };
  };
  const single = await timeSingle('auto');
  const pb1 = bench(['-c', '1', '-j', '1', '-l']);
  const pb1P50 = pb1 ? pct(pb1.latencies, 0.5) : undefined;
  console.log(
    `\nsingle client p50: audit ${single.p50.toFixed(3)} ms (${single.plan} plan)` +
      (pb1 ? `, pgbench -c 1 ${pb1P50.toFixed(3)} ms (${pb1.tps.toFixed(0)} tps)` : ', no pgbench'),
  );
  result({
    bench: 'load',
    measure: `audit single-client p50 (server's plan cache: ${single.plan} plan)`,
    value: `${single.p50.toFixed(3)} ms`,
    peer: pb1 ? `pgbench -M prepared -c 1 (${pb1P50.toFixed(3)} ms)` : 'no pgbench',
    ratio: pb1 ? +(single.p50 / pb1P50).toFixed(2) : NaN,
    goal: '<= 1.5x',
    met: pb1 ? single.p50 / pb1P50 <= 1.5 : false,
  });
  const custom = await timeSingle('custom');
  const pb1Custom = bench(['-c', '1', '-j', '1', '-l'], { PGOPTIONS: '-c plan_cache_mode=force_custom_plan' });
  const pb1CustomP50 = pb1Custom ? pct(pb1Custom.latencies, 0.5) : undefined;
  console.log(
    `custom plans forced: audit (planCache custom) p50 ${custom.p50.toFixed(3)} ms` +
      (pb1Custom ? `, pgbench -c 1 with plan_cache_mode=force_custom_plan ${pb1CustomP50.toFixed(3)} ms` : ''),
  );
  result({
    bench: 'load',
    measure: 'audit single-client p50, custom plans forced on both sides',
    value: `${custom.p50.toFixed(3)} ms`,
    peer: pb1Custom ? `pgbench -M prepared -c 1, force_custom_plan (${pb1CustomP50.toFixed(3)} ms)` : 'no pgbench',
    ratio: pb1Custom ? +(custom.p50 / pb1CustomP50).toFixed(2) : NaN,
    goal: 'report',
    met: true,
  });
  rmSync(qdir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  await c.end();
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  if (server) await server.stop();
  if (base) rmSync(base, { recursive: true, force: true });
}

/** The peer of the bookkeeping figure: the same requests on the same wire client, nothing measured. */
async function bareLoop(inFlight, secs, q) {
  const limits = { statementTimeoutMs: 5000, lockTimeoutMs: 1000 };
  const conns = await Promise.all(Array.from({ length: CONNS }, () => loadConnection(target, limits)));
  let n = 0;
  let stop = false;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let k = 0;
  await new Promise((resolve) => {
    let out = 0;
    const next = () => {
      const i = k++;
      out++;
      conns[i % CONNS].query(q.text, q.params[i % q.params.length], () => {
        n++;
        out--;
        if (!stop) next();
        else if (out === 0) resolve();
      });
    };
    for (let i = 0; i < inFlight; i++) next();
    setTimeout(() => (stop = true), secs * 1000);
  });
  const wall = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(conns.map((c) => c.end()));
  return { rps: (n / wall) * 1000, cpuPerRequestUs: (cpu.user + cpu.system) / n };
}

/** A plain pg.Pool loop (no pipelining), for reference. */
async function poolLoop(connUrl, inFlight, secs) {
  const poolDb = new pg.Pool({ connectionString: connUrl, max: CONNS });
  let n = 0;
  let stop = false;
  const ids = (await poolDb.query({ text: PARAMS_FROM, rowMode: 'array' })).rows.map((r) => String(r[0]));
  const start = performance.now();
  setTimeout(() => {
    stop = true;
  }, secs * 1000);
  await Promise.all(
    Array.from({ length: inFlight }, async (_, i) => {
      let k = i;
      while (!stop) {
        await poolDb.query({ name: 'recent', text: TEXT, values: [ids[k++ % ids.length]] });
        n++;
      }
    }),
  );
  const rps = (n / (performance.now() - start)) * 1000;
  await poolDb.end();
  return { rps };
}
