#!/usr/bin/env node
// bench/guard: what the deadline and liveness guards cost per statement. Sequential
// round trips of `SELECT 1` (the worst case: the guard's bookkeeping against the cheapest
// statement) and of a parameterised look-up under SET LOCAL statement_timeout (a deadline
// timer per statement), on a client from dbopt's connect() vs a bare node-pg client on the
// same server. Goal: ratio <= 1.1.
//
//   node bench/guard.js [--n 5000] [--repeats 5]
//
// Uses its own embedded PostgreSQL in a temp dir, or DBOPT_BENCH_DATABASE_URL. Run `npm run build` first.
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { connect, targetFromUrl } = await import(path.join(root, 'dist/db/connection.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const n = Number(arg('n', '5000'));
const repeats = Number(arg('repeats', '5'));

let adminUrl = process.env.DBOPT_BENCH_DATABASE_URL;
let server;
let base;
if (!adminUrl) {
  const { startEmbedded } = await import(path.join(root, 'dist/db/embedded.js'));
  base = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-guard-'));
  chmodSync(base, 0o755);
  server = await startEmbedded({ dir: base, database: 'postgres' });
  adminUrl = server.adminUrl;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function loop(client, kind) {
  const t0 = performance.now();
  if (kind === 'select1') {
    for (let i = 0; i < n; i++) await client.query('SELECT 1');
  } else {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('statement_timeout', $1, true)`, ['5s']);
    for (let i = 0; i < n; i++) await client.query('SELECT relname FROM pg_class WHERE oid = $1', [1259]);
    await client.query('ROLLBACK');
  }
  return ((performance.now() - t0) * 1000) / n; // µs per statement
}

try {
  const bare = new pg.Client({ connectionString: adminUrl });
  await bare.connect();
  const guarded = await connect(targetFromUrl(adminUrl, 'bench', { HOME: tmpdir() }));
  for (const kind of ['select1', 'deadline']) {
    await loop(bare, kind);
    await loop(guarded, kind);
    const a = [];
    const b = [];
    // Interleaved, so drift on the shared machine hits both alike.
    for (let r = 0; r < repeats; r++) {
      b.push(await loop(bare, kind));
      a.push(await loop(guarded, kind));
    }
    const ga = median(a);
    const gb = median(b);
    const what =
      kind === 'select1' ? 'SELECT 1' : 'look-up under SET LOCAL statement_timeout (a deadline per statement)';
    console.log(
      `${what}: guarded ${ga.toFixed(1)} µs, bare ${gb.toFixed(1)} µs per statement (median of ${repeats} x ${n})`,
    );
    console.log(
      `RESULT ${JSON.stringify({ bench: 'guard', measure: `round trip, ${what}`, value: `${ga.toFixed(1)} µs`, peer: `bare node-pg client (${gb.toFixed(1)} µs)`, ratio: +(ga / gb).toFixed(2), goal: '<= 1.1x', met: ga / gb <= 1.1 })}`,
    );
  }
  await bare.end();
  await guarded.end();
} finally {
  if (server) await server.stop();
  if (base) rmSync(base, { recursive: true, force: true });
}
