#!/usr/bin/env node
// bench/refresh: dbopt refresh-views on the reference workload (scale 10 by default).
//   1. `--all` wall time vs the physical limit, the longest dependency chain (sum of each
//      view's own refresh time along it, each measured refreshing alone; goal <= 1.2x), and vs
//      refreshing every view one after another (concurrency 1).
//   2. A reader's p99 latency on a view during a CONCURRENTLY refresh vs during a plain one.
//   3. The --watch process's memory after 1,000 refresh cycles of a tiny view vs after the
//      first 10: resident set (VmRSS from /proc, read from outside) and V8 heapUsed after a
//      forced full GC (the child runs with --expose-gc and a bench-only preload that collects
//      and writes process.memoryUsage() on SIGUSR2; dbopt itself has no hook). heapUsed after
//      GC is what a leak grows; RSS also holds the heap V8 reserved (its young generation grows
//      with the allocation rate) and malloc's arenas, so RSS alone cannot tell them apart.
// Usage: npm run build && node bench/refresh.js [--scale N] [--cycles N] [--runs N] [--seeds DIR]
//        node bench/refresh.js --memory-only [--cycles N]   (only 3; no migrate or seed)
// Uses its own embedded PostgreSQL in a temp dir, or DBOPT_BENCH_DATABASE_URL (a database it may fill).
import { mkdtempSync, rmSync, chmodSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbedded } from '../dist/db/embedded.js';
import { targetFromUrl } from '../dist/db/connection.js';
import { migrate } from '../dist/migrate/index.js';
import { seed } from '../dist/seed/index.js';
import { refreshViews } from '../dist/refresh/index.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const SCALE = arg('scale', 10);
const CYCLES = arg('cycles', 1000);
const MEMORY_ONLY = process.argv.includes('--memory-only');
const RUNS = arg('runs', 3);
/** A reader's intended interval between requests (for the coordinated-omission correction). */
const EXPECTED_MS = 1;
const seedsArg = process.argv.indexOf('--seeds');
const SEEDS = seedsArg > 0 ? path.resolve(process.argv[seedsArg + 1]) : path.join(ROOT, 'seeds');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};
const ms = (x) => `${x.toFixed(x < 10 ? 2 : 0)} ms`;
const log = (m) => process.stderr.write(`[bench/refresh] ${m}\n`);

let server;
let base;
let url = process.env.DBOPT_BENCH_DATABASE_URL;
if (!url) {
  base = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-refresh-'));
  chmodSync(base, 0o755);
  server = await startEmbedded({ dir: base, database: 'bench' });
  url = server.adminUrl.replace(/\/postgres$/, '/bench');
  log(`embedded PostgreSQL in ${base}`);
}
const target = targetFromUrl(url, 'bench');
const settings = {
  include: ['analytics.*'],
  exclude: [],
  concurrency: 2,
  defaultSchedule: '1h',
  schedules: {},
  statementTimeoutMs: 3_600_000,
  lockTimeoutMs: 60_000,
};

/**
 * Section 3: run `dbopt refresh-views --watch` on a tiny view with a 100ms schedule and sample
 * its memory at a few cycle counts (a cycle = one successful refresh in the history).
 */
async function watchMemory(cycles) {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query('CREATE SCHEMA IF NOT EXISTS bench');
  await admin.query('DROP MATERIALIZED VIEW IF EXISTS bench.tiny');
  await admin.query(
    'CREATE MATERIALIZED VIEW bench.tiny AS SELECT g AS id, g * 2 AS v FROM generate_series(1, 10) AS g',
  );
  await admin.query('CREATE UNIQUE INDEX ON bench.tiny (id)');
  // History left by an earlier run would make the first cycles look like later ones.
  await admin.query(`DELETE FROM dbopt.refresh_history WHERE view_name = 'bench.tiny'`).catch(() => undefined);
  const cfgDir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-watch-'));
  const memFile = path.join(cfgDir, 'memory.json');
  writeFileSync(
    path.join(cfgDir, 'dbopt.config.json'),
    JSON.stringify({ refresh: { include: ['bench.tiny'], schedules: { 'bench.tiny': '100ms' } } }),
  );
  // Bench-only preload: on SIGUSR2, two full collections, then memoryUsage() to a file.
  const preload =
    'data:text/javascript,' +
    encodeURIComponent(`
    import { writeFileSync } from 'node:fs';
    process.on('SIGUSR2', () => {
      globalThis.gc(); globalThis.gc();
      writeFileSync(${JSON.stringify(memFile)}, JSON.stringify(process.memoryUsage()));
    });`);
  const child = spawn(
    process.execPath,
    ['--expose-gc', '--import', preload, path.join(ROOT, 'bin', 'dbopt.js'), '--quiet', 'refresh-views', '--watch'],
    {
      cwd: cfgDir,
      env: { ...process.env, DATABASE_URL: url, NO_COLOR: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise((r) => child.on('close', r));
  const sleepMs = (n) => new Promise((r) => setTimeout(r, n));
  const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))[1]) * 1024;
  const count = async () =>
    (
      await admin.query(
        `SELECT count(*)::int AS n FROM dbopt.refresh_history WHERE view_name = 'bench.tiny' AND outcome = 'ok'`,
      )
    ).rows[0].n;
  const waitCycles = async (n) => {
    while ((await count().catch(() => 0)) < n) {
      if (child.exitCode !== null) throw new Error(`the watcher exited ${child.exitCode}: ${stderr}`);
      await sleepMs(100);
    }
  };
  const afterGc = async () => {
    rmSync(memFile, { force: true });
    child.kill('SIGUSR2');
    for (let i = 0; i < 100 && !existsSync(memFile); i++) await sleepMs(20);
    await sleepMs(20);
    return JSON.parse(readFileSync(memFile, 'utf8'));
  };
  const samples = [];
  const tw = performance.now();
  for (const k of [...new Set([10, 100, Math.round(cycles / 2), cycles])]
    .filter((k) => k <= cycles)
    .sort((a, b) => a - b)) {
    await waitCycles(k);
    const raw = rss();
    const m = await afterGc();
    samples.push({
      cycle: k,
      rss: raw,
      rssGc: rss(),
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
    });
  }
  const secs = (performance.now() - tw) / 1000;
  child.kill('SIGTERM');
  const exitCode = await closed;
  // Pace: gap between consecutive refreshes (schedule 100ms + the cycle's own work) and the
  // REFRESH's own duration, over the first and the last 100 cycles.
  const { rows: hist } = await admin.query(`
    SELECT extract(epoch FROM started_at - lag(started_at) OVER (ORDER BY started_at)) * 1000 AS gap_ms,
           duration_ms
      FROM dbopt.refresh_history
     WHERE view_name = 'bench.tiny'
       AND outcome = 'ok'
     ORDER BY started_at`);
  const gaps = hist.slice(1).map((r) => Number(r.gap_ms));
  const durs = hist.map((r) => Number(r.duration_ms));
  const pace = {
    gapFirst: median(gaps.slice(0, 100)),
    gapLast: median(gaps.slice(-100)),
    durFirst: median(durs.slice(0, 100)),
    durLast: median(durs.slice(-100)),
  };
  await admin.end();
  rmSync(cfgDir, { recursive: true, force: true });
  return { samples, secs, exitCode, pace };
}

const mib = (b) => `${(b / 1048576).toFixed(1)} MiB`;
function memoryRows(w) {
  const first = w.samples[0];
  const last = w.samples.at(-1);
  const mid = w.samples.at(-2) ?? first;
  return [
    [
      `--watch RSS after ${last.cycle} cycles`,
      mib(last.rss),
      `after ${first.cycle} cycles`,
      mib(first.rss),
      (last.rss / first.rss).toFixed(2),
      '~1.0',
    ],
    [
      `--watch heapUsed after GC, ${last.cycle} cycles`,
      mib(last.heapUsed),
      `after ${first.cycle} cycles`,
      mib(first.heapUsed),
      (last.heapUsed / first.heapUsed).toFixed(2),
      '~1.0',
    ],
    // Past warm-up (code compiled, pools and caches filled), a leak is the only thing left to grow.
    [
      `--watch heapUsed after GC, ${last.cycle} cycles`,
      mib(last.heapUsed),
      `after ${mid.cycle} cycles`,
      mib(mid.heapUsed),
      (last.heapUsed / mid.heapUsed).toFixed(2),
      '~1.0',
    ],
  ];
}
function printMemory(w) {
  console.log(
    `watcher: ${w.samples.at(-1)?.cycle ?? 0} cycles in ${w.secs.toFixed(0)} s, exit ${w.exitCode} on SIGTERM; pace (median of first/last 100): gap between refreshes ${ms(w.pace.gapFirst)} / ${ms(w.pace.gapLast)}, REFRESH itself ${ms(w.pace.durFirst)} / ${ms(w.pace.durLast)}`,
  );
  console.log('cycle   RSS        RSS after GC  heapUsed after GC  heapTotal  external');
  for (const x of w.samples)
    console.log(
      `${String(x.cycle).padEnd(6)}  ${mib(x.rss).padEnd(9)}  ${mib(x.rssGc).padEnd(12)}  ${mib(x.heapUsed).padEnd(17)}  ${mib(x.heapTotal).padEnd(9)}  ${mib(x.external)}`,
    );
}
function printTable(rows) {
  const widths = [0, 1, 2, 3, 4, 5].map((i) =>
    Math.max(...rows.map((r) => r[i].length), ['measure', 'value', 'peer', 'peer value', 'ratio', 'goal'][i].length),
  );
  const line = (r) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(['measure', 'value', 'peer', 'peer value', 'ratio', 'goal']));
  for (const r of rows) console.log(line(r));
  // Machine-readable lines for bench/run.js (the README table). "~1.0" = within 10 % noise.
  const met = (ratio, goal) =>
    goal === '<= 1.20' ? ratio <= 1.2 : goal === '< 1' ? ratio < 1 : goal === '<< 1' ? ratio < 0.1 : ratio <= 1.1;
  for (const r of rows) {
    const ratio = Number(r[4]);
    console.log(
      `RESULT ${JSON.stringify({ bench: 'refresh', measure: r[0], value: r[1], peer: `${r[2]} (${r[3]})`, ratio, goal: r[5] === '~1.0' ? '<= 1.1x (noise)' : `${r[5]}x`, met: met(ratio, r[5]) })}`,
    );
  }
}
async function serverVersion() {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const v = (await c.query('SHOW server_version')).rows[0].server_version;
  await c.end();
  return v;
}

try {
  if (MEMORY_ONLY) {
    // The watcher creates dbopt.refresh_history itself; nothing else is needed.
    const w = await watchMemory(CYCLES);
    console.log(`\nbench/refresh --memory-only, PostgreSQL ${await serverVersion()}`);
    printMemory(w);
    printTable(memoryRows(w));
  } else {
    const t0 = performance.now();
    log(`migrating and seeding scale ${SCALE} (minutes at scale 10) ...`);
    await migrate({ target, dir: path.join(ROOT, 'migrations'), direction: 'up' });
    await seed({ target, dir: SEEDS, scale: SCALE });
    {
      // Same state whatever the seed files do: vacuumed (visibility map) and analyzed.
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query('VACUUM ANALYZE');
      await c.end();
    }
    log(`loaded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

    // First fill (plain, the views were created WITH NO DATA), then everything is concurrent.
    const first = await refreshViews({ target, settings, all: true });
    const views = first.views.map((v) => ({ name: v.view, dependsOn: v.dependsOn }));

    // ---- 1. --all vs the longest chain and vs sequential
    const own = {};
    for (const v of views) {
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const r = await refreshViews({ target, settings, views: [v.name] });
        times.push(r.views[0].durationMs);
      }
      own[v.name] = median(times);
    }
    const chainCost = (name) => {
      const v = views.find((x) => x.name === name);
      return own[name] + Math.max(0, ...v.dependsOn.map(chainCost));
    };
    const chain = Math.max(...views.map((v) => chainCost(v.name)));
    const wall = async (concurrency) => {
      const times = [];
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now();
        const r = await refreshViews({ target, settings: { ...settings, concurrency }, all: true });
        if (!r.ok) throw new Error(`refresh failed: ${JSON.stringify(r.views)}`);
        times.push(performance.now() - t);
      }
      return median(times);
    };
    const all = await wall(2);
    const sequential = await wall(1);

    // ---- 2. reader p99 during CONCURRENTLY vs plain
    const VIEW = 'analytics.user_engagement';
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    const {
      rows: [{ maxid }],
    } = await pool.query('SELECT max(user_id)::int AS maxid FROM analytics.user_engagement');
    const readDuring = async (refresh) => {
      const reader = await pool.connect();
      const lat = [];
      let done = false;
      const running = refresh().finally(() => (done = true));
      // Readers start once the refresh is under way.
      await new Promise((r) => setTimeout(r, 50));
      while (!done) {
        const t = performance.now();
        await reader.query('SELECT segment, messages FROM analytics.user_engagement WHERE user_id = $1', [
          1 + Math.floor(Math.random() * maxid),
        ]);
        const l = performance.now() - t;
        lat.push(l);
        // A blocked reader issues one query while blocked; the requests it would have sent
        // meanwhile (one per EXPECTED_MS) waited too. Count them, as HdrHistogram's
        // recordValueWithExpectedInterval does, or per-request percentiles hide the block.
        for (let x = l - EXPECTED_MS; x > EXPECTED_MS; x -= EXPECTED_MS) lat.push(x);
      }
      await running;
      reader.release();
      return lat;
    };
    const concLat = [];
    const plainLat = [];
    for (let i = 0; i < RUNS; i++) {
      for (const x of await readDuring(() => pool.query(`REFRESH MATERIALIZED VIEW CONCURRENTLY ${VIEW}`)))
        concLat.push(x);
      for (const x of await readDuring(() => pool.query(`REFRESH MATERIALIZED VIEW ${VIEW}`))) plainLat.push(x);
    }
    await pool.end();

    // ---- 3. --watch memory after CYCLES refreshes of a tiny view vs after 10 (--cycles 0 skips)
    const w = CYCLES > 0 ? await watchMemory(CYCLES) : undefined;
    const rows = [
      [
        '--all (concurrency 2), median of ' + RUNS,
        ms(all),
        'longest chain (own times)',
        ms(chain),
        (all / chain).toFixed(2),
        '<= 1.20',
      ],
      [
        '--all (concurrency 2)',
        ms(all),
        'sequential (concurrency 1)',
        ms(sequential),
        (all / sequential).toFixed(2),
        '< 1',
      ],
      [
        `reader p99 during CONCURRENTLY (n=${concLat.length})`,
        ms(pct(concLat, 99)),
        `reader p99 during plain (n=${plainLat.length})`,
        ms(pct(plainLat, 99)),
        (pct(concLat, 99) / pct(plainLat, 99)).toFixed(4),
        '<< 1',
      ],
      ...(w ? memoryRows(w) : []),
    ];
    console.log(`\nbench/refresh  scale ${SCALE}, PostgreSQL ${await serverVersion()}`);
    console.log(
      'own refresh time per view (median): ' +
        Object.entries(own)
          .map(([k, v]) => `${k} ${ms(v)}`)
          .join(', '),
    );
    console.log(`reader p50: CONCURRENTLY ${ms(pct(concLat, 50))}, plain ${ms(pct(plainLat, 50))}`);
    if (w) printMemory(w);
    printTable(rows);
  }
} finally {
  await server?.stop().catch(() => undefined);
  if (base) rmSync(base, { recursive: true, force: true });
}
