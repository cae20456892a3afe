#!/usr/bin/env node
// bench/migrate: the reference schema's index migrations (the CREATE INDEX CONCURRENTLY files
// of migrations/) on a seeded database, built by dbopt migrate vs plain node-pg-migrate (a JS
// migration with pgm.noTransaction(), default session settings). Each index is built by one,
// dropped, built by the other (order alternating per repeat); medians are compared, as the
// ratio dbopt / node-pg-migrate (goal: <= 1.10x at scale 1, <= 1.05x at scale 10).
//
//   node bench/migrate.js [--scale 10] [--repeats 1] [--mwm 256MB] [--workers 2]
//
// Uses its own embedded PostgreSQL in a temp dir, or DBOPT_BENCH_DATABASE_URL (an admin URL; a
// database dbopt_bench_migrate is created there and dropped at the end). Run `npm run build` first.
import { mkdtempSync, readdirSync, writeFileSync, copyFileSync, rmSync, chmodSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { migrate } = await import(path.join(root, 'dist/migrate/index.js'));
const { readSqlMigration } = await import(path.join(root, 'dist/migrate/sqlFile.js'));
const { seed } = await import(path.join(root, 'dist/seed/index.js'));
const { targetFromUrl } = await import(path.join(root, 'dist/db/connection.js'));

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}
const scale = Number(arg('scale', '10'));
const repeats = Number(arg('repeats', '1'));
const mwm = arg('mwm', undefined);
const workers = arg('workers', undefined) === undefined ? undefined : Number(arg('workers'));

const migrationsDir = path.join(root, 'migrations');
const all = readdirSync(migrationsDir)
  .filter((f) => f.endsWith('.sql'))
  .sort();
const indexFiles = [];
const tableFiles = [];
for (const f of all) {
  const parsed = await readSqlMigration(path.join(migrationsDir, f), f);
  const stmt = parsed.up.statements[0];
  if (parsed.up.statements.length === 1 && stmt && stmt.node.IndexStmt?.concurrent)
    indexFiles.push({
      file: f,
      name: f.replace(/\.sql$/, ''),
      sql: stmt.text,
      index: stmt.node.IndexStmt.idxname,
      table: stmt.node.IndexStmt.relation.relname,
    });
  else if (/^000[1-7]_/.test(f)) tableFiles.push(f);
}

let server;
let adminUrl = process.env.DBOPT_BENCH_DATABASE_URL;
let serverDir;
if (!adminUrl) {
  const { startEmbedded } = await import(path.join(root, 'dist/db/embedded.js'));
  serverDir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-migrate-'));
  chmodSync(serverDir, 0o755);
  server = await startEmbedded({ dir: serverDir, database: 'postgres' });
  adminUrl = server.adminUrl;
}
const dbName = 'dbopt_bench_migrate';
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
await admin.query(`CREATE DATABASE ${dbName}`);
const url = new URL(adminUrl);
url.pathname = `/${dbName}`;
const target = targetFromUrl(url.toString(), 'bench');
const client = new pg.Client({ connectionString: url.toString() });
await client.connect();
const version = (await client.query('SHOW server_version')).rows[0].server_version;

try {
  // Tables only, then the data: loading without the indexes is faster.
  const tablesDir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-tables-'));
  for (const f of tableFiles) copyFileSync(path.join(migrationsDir, f), path.join(tablesDir, f));
  await migrate({ target, dir: tablesDir });
  const t0 = performance.now();
  process.stderr.write(`Seeding scale ${scale} on PostgreSQL ${version} ...\n`);
  // The data generator files (NN_*.sql below 90); maintenance files after them are not needed here.
  const seedDir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-seeds-'));
  for (const f of readdirSync(path.join(root, 'seeds')).filter((f) => /^[0-8]\d_.*\.sql$/.test(f)))
    copyFileSync(path.join(root, 'seeds', f), path.join(seedDir, f));
  await seed({ target, dir: seedDir, scale });
  process.stderr.write(`Seeded in ${Math.round((performance.now() - t0) / 1000)} s\n`);
  await client.query('VACUUM ANALYZE');
  const defaults = await client.query(
    `SELECT current_setting('maintenance_work_mem') AS mwm, current_setting('max_parallel_maintenance_workers') AS workers`,
  );

  // Plain node-pg-migrate: what its users write for a concurrent build (a JS migration, outside a transaction).
  const { runner } = await import('node-pg-migrate');
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };
  async function plain(ix) {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-npm-'));
    writeFileSync(
      path.join(dir, `${ix.name}.mjs`),
      `export const up = (pgm) => { pgm.noTransaction(); pgm.sql(${JSON.stringify(ix.sql)}); };\n`,
    );
    const t = performance.now();
    await runner({
      databaseUrl: url.toString(),
      dir,
      direction: 'up',
      migrationsTable: 'bench_pgmigrations',
      logger: quiet,
      checkOrder: false,
    });
    const ms = performance.now() - t;
    await client.query(`DELETE FROM bench_pgmigrations`);
    rmSync(dir, { recursive: true, force: true });
    return ms;
  }
  async function dbopt(ix) {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-bench-dbopt-'));
    for (const f of tableFiles) copyFileSync(path.join(migrationsDir, f), path.join(dir, f));
    copyFileSync(path.join(migrationsDir, ix.file), path.join(dir, ix.file));
    const t = performance.now();
    await migrate({
      target,
      dir,
      ...(mwm ? { maintenanceWorkMem: mwm } : {}),
      ...(workers !== undefined ? { parallelWorkers: workers } : {}),
    });
    const ms = performance.now() - t;
    await client.query(`DELETE FROM dbopt.migrations WHERE name = $1`, [ix.name]);
    await client.query(`DELETE FROM dbopt.migration_checksums WHERE name = $1`, [ix.name]);
    rmSync(dir, { recursive: true, force: true });
    return ms;
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const results = [];
  for (const ix of indexFiles) {
    const times = { plain: [], dbopt: [] };
    for (let r = 0; r < repeats; r++) {
      const order = (r + results.length) % 2 === 0 ? ['plain', 'dbopt'] : ['dbopt', 'plain'];
      for (const who of order) {
        times[who].push(who === 'plain' ? await plain(ix) : await dbopt(ix));
        await client.query(`DROP INDEX IF EXISTS ${client.escapeIdentifier(ix.index)}`);
      }
    }
    const size = await client.query(`SELECT pg_size_pretty(pg_relation_size($1::regclass)) AS s`, [ix.table]);
    results.push({
      index: ix.index,
      table: `${ix.table} (${size.rows[0].s})`,
      plain: median(times.plain),
      dbopt: median(times.dbopt),
    });
    process.stderr.write(
      `  ${ix.index}: plain ${Math.round(median(times.plain))} ms, dbopt ${Math.round(median(times.dbopt))} ms\n`,
    );
  }
  const total = { plain: results.reduce((s, r) => s + r.plain, 0), dbopt: results.reduce((s, r) => s + r.dbopt, 0) };
  const pad = (s, n) => String(s).padEnd(n);
  const padl = (s, n) => String(s).padStart(n);
  console.log(
    `\nbench/migrate: reference index migrations, scale ${scale}, PostgreSQL ${version}, ${repeats} repeat(s), median ms`,
  );
  console.log(
    `peer: node-pg-migrate runner, default session (maintenance_work_mem ${defaults.rows[0].mwm}, max_parallel_maintenance_workers ${defaults.rows[0].workers})`,
  );
  console.log(
    `dbopt: maintenance_work_mem ${mwm ?? '(config default)'}, parallel workers ${workers ?? '(config default)'}, plus lint, migrate lock, heal check, indisvalid check and ANALYZE where it adds statistics\n`,
  );
  console.log(
    `${pad('index', 34)}${pad('table (heap)', 28)}${padl('node-pg-migrate', 16)}${padl('dbopt', 10)}${padl('ratio', 8)}`,
  );
  for (const r of results)
    console.log(
      `${pad(r.index, 34)}${pad(r.table, 28)}${padl(Math.round(r.plain), 16)}${padl(Math.round(r.dbopt), 10)}${padl((r.dbopt / r.plain).toFixed(2) + 'x', 8)}`,
    );
  console.log(
    `${pad('total', 62)}${padl(Math.round(total.plain), 16)}${padl(Math.round(total.dbopt), 10)}${padl((total.dbopt / total.plain).toFixed(2) + 'x', 8)}`,
  );
  // The safety dbopt adds (heal check, indisvalid check, ANALYZE where it adds statistics, the
  // lint, the migrate lock) should cost next to nothing over the plain runner.
  const ratio = +(total.dbopt / total.plain).toFixed(2);
  const goal = scale >= 10 ? 1.05 : 1.1;
  console.log(`\ngoal: dbopt within ${goal}x of node-pg-migrate: ${ratio <= goal ? 'met' : 'NOT met'} (${ratio}x)`);
  console.log(
    `RESULT ${JSON.stringify({ bench: 'migrate', measure: `reference index migrations, scale ${scale}: total time`, value: `${Math.round(total.dbopt)} ms`, peer: `node-pg-migrate, default session (${Math.round(total.plain)} ms)`, ratio, goal: `<= ${goal}x`, met: ratio <= goal })}`,
  );
} finally {
  await client.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
  await admin.end();
  if (server) await server.stop();
  if (serverDir) rmSync(serverDir, { recursive: true, force: true });
}
