// dbopt.refresh_watchers: one row per `refresh-views --watch` process, stamped after every
// completed cycle, so `--status` (and any monitoring query) can tell a live watcher from one
// that stalled or died: PostgreSQL itself keeps nothing that says so.
import { hostname } from 'node:os';
import type { ClientBase, Pool } from 'pg';

export const WATCHERS_TABLE = 'dbopt.refresh_watchers';

export interface WatcherRecord {
  watcher: string;
  startedAt: string;
  /** When the watcher last completed a cycle (server clock). */
  lastCycleAt?: string;
  /** now - lastCycleAt, on the server's clock. */
  lastCycleAgeMs?: number;
  cycles: number;
  stalls: number;
  lastStallAt?: string;
  lastStall?: string;
  stoppedAt?: string;
}

/** This process's name in the table: host:pid. */
export function watcherName(): string {
  return `${hostname()}:${process.pid}`;
}

export async function ensureWatchersTable(client: ClientBase): Promise<void> {
  await client
    .query(
      `
    CREATE TABLE IF NOT EXISTS dbopt.refresh_watchers (
      watcher text PRIMARY KEY,
      started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
      last_cycle_at timestamptz,
      cycles bigint NOT NULL DEFAULT 0,
      stalls bigint NOT NULL DEFAULT 0,
      last_stall_at timestamptz,
      last_stall text,
      stopped_at timestamptz
    )`,
    )
    .catch((err: { code?: string }) => {
      // Two watchers starting together can race on the type; the other one created it.
      if (err.code !== '23505' && err.code !== '42P07') throw err;
    });
}

/** A cycle completed: stamp it (and a stall seen before it, once the server answers again). */
export async function recordCycle(client: ClientBase | Pool, watcher: string, stall?: string): Promise<void> {
  await client.query(
    `INSERT INTO dbopt.refresh_watchers AS w (watcher, last_cycle_at, cycles, stalls, last_stall_at, last_stall)
     VALUES ($1, clock_timestamp(), 1, CASE WHEN $2::text IS NULL THEN 0 ELSE 1 END,
             CASE WHEN $2::text IS NULL THEN NULL ELSE clock_timestamp() END, $2::text)
     ON CONFLICT (watcher) DO UPDATE
        SET last_cycle_at = clock_timestamp(),
            cycles = w.cycles + 1,
            stalls = w.stalls + CASE WHEN $2::text IS NULL THEN 0 ELSE 1 END,
            last_stall_at = COALESCE(CASE WHEN $2::text IS NULL THEN NULL ELSE clock_timestamp() END, w.last_stall_at),
            last_stall = COALESCE($2::text, w.last_stall),
            stopped_at = NULL`,
    [watcher, stall ?? null],
  );
}

export async function recordStopped(client: ClientBase | Pool, watcher: string): Promise<void> {
  await client.query(`UPDATE dbopt.refresh_watchers SET stopped_at = clock_timestamp() WHERE watcher = $1`, [watcher]);
}

/** The most recent watchers (running or stopped), newest cycle first. */
export async function readWatchers(client: ClientBase | Pool, limit = 5): Promise<WatcherRecord[]> {
  const { rows } = await client.query<{ t: string | null }>(`SELECT to_regclass('dbopt.refresh_watchers')::text AS t`);
  if (rows[0]?.t == null) return [];
  const r = await client.query<{
    watcher: string;
    started_at: Date;
    last_cycle_at: Date | null;
    age_ms: number | null;
    cycles: string;
    stalls: string;
    last_stall_at: Date | null;
    last_stall: string | null;
    stopped_at: Date | null;
  }>(
    `SELECT watcher, started_at, last_cycle_at,
            extract(epoch FROM clock_timestamp() - last_cycle_at) * 1000 AS age_ms,
            cycles, stalls, last_stall_at, last_stall, stopped_at
       FROM dbopt.refresh_watchers
      ORDER BY last_cycle_at DESC NULLS LAST
      LIMIT $1`,
    [limit],
  );
  return r.rows.map((w) => ({
    watcher: w.watcher,
    startedAt: w.started_at.toISOString(),
    lastCycleAt: w.last_cycle_at?.toISOString(),
    lastCycleAgeMs: w.age_ms === null ? undefined : Number(w.age_ms),
    cycles: Number(w.cycles),
    stalls: Number(w.stalls),
    lastStallAt: w.last_stall_at?.toISOString(),
    lastStall: w.last_stall ?? undefined,
    stoppedAt: w.stopped_at?.toISOString(),
  }));
}
