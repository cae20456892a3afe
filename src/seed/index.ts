// dbopt seed: loads the reference workload by running the set-based SQL files of seeds/ in
// order in one session, after SET dbopt.scale = N. A finished load is recorded in
// dbopt.seed_runs so a rerun (dbopt demo) skips it; --force empties the tables first (reset.sql).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';
import { connect, type ConnectionTarget } from '../db/connection.js';
import { FindingsError, UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { formatPgError, isPgError } from '../db/pgerror.js';
import { mustRunOutsideTransaction, splitStatements } from '../sql/parse.js';

export interface SeedOptions {
  target: ConnectionTarget;
  dir: string;
  scale: number;
  force?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface SeedResult {
  server: string;
  scale: number;
  skipped: boolean;
  reason?: string;
  files: { file: string; durationMs: number }[];
  durationMs: number;
  rows: Record<string, number>;
}

export function seedFiles(dir: string): string[] {
  if (!existsSync(dir))
    throw new UsageError(`seed directory not found: ${dir}`, {
      hint: 'Set seed.dir in dbopt.config.json or pass --dir.',
    });
  return readdirSync(dir)
    .filter((f) => /^\d+_.*\.sql$/.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

const COUNTED_TABLES = ['bots', 'bot_configs', 'users', 'sessions', 'conversations', 'messages', 'events'];

export async function seed(opts: SeedOptions): Promise<SeedResult> {
  const files = seedFiles(opts.dir);
  const client = await connect(opts.target);
  const cancel = cancelOnAbort(client, opts.target);
  // If dbopt itself is killed, have the server stop the load too (PostgreSQL 14+).
  await client.query(`SELECT set_config('client_connection_check_interval', '1s', false)`).catch(() => undefined);
  opts.signal?.addEventListener('abort', cancel, { once: true });
  try {
    const skip = await alreadySeeded(client, Boolean(opts.force));
    if (skip) return { server: opts.target.display, skipped: true, files: [], durationMs: 0, ...skip };
    const started = new Date();
    const t0 = performance.now();
    const timings = await load(client, files, opts, started);
    const rows = await countRows(client);
    const durationMs = Math.round(performance.now() - t0);
    return { server: opts.target.display, scale: opts.scale, skipped: false, files: timings, durationMs, rows };
  } catch (err) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    throw err;
  } finally {
    opts.signal?.removeEventListener('abort', cancel);
    await client.end().catch(() => undefined);
  }
}

/**
 * A busy backend does not notice its client going away until its statement ends: on abort,
 * cancel the statement from a second connection, then close (the transaction rolls back).
 */
function cancelOnAbort(client: Client, target: ConnectionTarget): () => void {
  return () => {
    void (async () => {
      const pid = (client as unknown as { processID?: number }).processID;
      if (pid) {
        const other = await connect(target);
        await other.query('SELECT pg_cancel_backend($1)', [pid]).finally(() => other.end());
      }
    })()
      .catch(() => undefined)
      .finally(() => void client.end().catch(() => undefined));
  };
}

/** The last recorded load, when its rows are still there and --force is not given: then skip. */
async function alreadySeeded(
  client: Client,
  force: boolean,
): Promise<Pick<SeedResult, 'scale' | 'rows' | 'reason'> | undefined> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS dbopt`);
  await client.query(`CREATE TABLE IF NOT EXISTS dbopt.seed_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    scale integer NOT NULL,
    started_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL DEFAULT now(),
    duration_ms bigint NOT NULL
  )`);
  const prev = await client.query<{ scale: number; finished_at: Date }>(
    `SELECT scale, finished_at
       FROM dbopt.seed_runs
      ORDER BY id DESC
      LIMIT 1`,
  );
  const last = prev.rows[0];
  const present = await countRows(client);
  // Recorded and still there: skip. (Tables emptied since, e.g. by migrate down/up, load again.)
  if (!last || force || !Object.values(present).some((n) => n > 0)) return undefined;
  return {
    scale: last.scale,
    rows: present,
    reason: `already seeded at scale ${last.scale} on ${last.finished_at.toISOString()}; pass --force to load again`,
  };
}

/**
 * Run the seed files in one transaction (--force: reset.sql first), committing around a file
 * that cannot run in one (VACUUM), and record the load in dbopt.seed_runs.
 */
async function load(client: Client, files: string[], opts: SeedOptions, started: Date): Promise<SeedResult['files']> {
  const logger = opts.logger ?? silentLogger;
  const t0 = performance.now();
  const timings: SeedResult['files'] = [];
  await client.query('BEGIN');
  const resetFile = path.join(opts.dir, 'reset.sql');
  if (opts.force && existsSync(resetFile)) {
    logger.info('Emptying the workload tables (reset.sql) ...');
    await client.query(readFileSync(resetFile, 'utf8'));
  }
  await client.query(`SELECT set_config('dbopt.scale', $1, false)`, [String(opts.scale)]);
  let inTransaction = true;
  for (const file of files) {
    const name = path.relative(process.cwd(), file);
    const text = readFileSync(file, 'utf8');
    // VACUUM cannot run in a transaction block: commit the load so far and run it alone.
    const outside = (await splitStatements(text, name)).some(mustRunOutsideTransaction);
    const f0 = performance.now();
    logger.info(`Seeding ${path.basename(file)} (scale ${opts.scale}) ...`);
    try {
      if (outside && inTransaction) {
        await client.query('COMMIT');
        inTransaction = false;
      } else if (!outside && !inTransaction) {
        await client.query('BEGIN');
        inTransaction = true;
      }
      await client.query(text);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      await client.query('ROLLBACK').catch(() => undefined);
      throw seedFailure(err, name, text, inTransaction && !outside);
    }
    timings.push({ file: name, durationMs: Math.round(performance.now() - f0) });
  }
  await client.query(`INSERT INTO dbopt.seed_runs (scale, started_at, duration_ms) VALUES ($1, $2, $3)`, [
    opts.scale,
    started,
    Math.round(performance.now() - t0),
  ]);
  if (inTransaction) await client.query('COMMIT');
  return timings;
}

function seedFailure(err: unknown, name: string, text: string, nothingLoaded: boolean): unknown {
  if (!isPgError(err)) return err;
  const what = nothingLoaded ? 'nothing was loaded' : 'the rows loaded before it are committed';
  return new FindingsError(`seed file ${name} failed; ${what}`, {
    details: formatPgError(err, { file: name, text }),
    hint:
      err.code === '23505'
        ? 'The tables already hold data: run dbopt seed --force to empty and reload them.'
        : 'Fix the seed file and run again.',
  });
}

async function countRows(client: Client): Promise<Record<string, number>> {
  const rows: Record<string, number> = {};
  for (const table of COUNTED_TABLES) {
    const exists = await client.query<{ ok: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS ok`, [`public.${table}`]);
    if (!exists.rows[0]?.ok) continue;
    const r = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${client.escapeIdentifier(table)}`);
    rows[table] = Number(r.rows[0]?.n ?? 0);
  }
  return rows;
}
