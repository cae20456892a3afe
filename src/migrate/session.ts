// The build connection of a migrate run (it holds the migrate lock and runs every statement)
// and what watches it from outside: a watch connection, opened only once a wait or a build
// lasts long enough to poll, asks who blocks the build connection and how far an index build is.
import type { Client } from 'pg';
import { CONFIG_SPEC, DEFAULT_SMALL_TABLE } from '../config.js';
import { parseDuration } from '../duration.js';
import type { Logger } from '../logger.js';
import { sleep } from './wait.js';

export interface MigrateSettings {
  lockTimeoutMs: number;
  lockRetries: number;
  lockWaitMs: number;
  buildLockTimeoutMs: number;
  maintenanceWorkMem: string;
  parallelWorkers: number;
  lint: boolean;
  /** migrate.lint.rules: rule code -> off | warning | error. */
  lintRules?: Record<string, 'off' | 'warning' | 'error'>;
  /** migrate.lint.smallTable: lock findings on smaller tables are notes. */
  lintSmallTable?: number;
}

/** Defaults of the migrate.* config keys, for library callers that pass none. */
export function defaultMigrateSettings(): MigrateSettings {
  const p = CONFIG_SPEC.migrate!.properties as Record<string, { default: unknown }>;
  return {
    lockTimeoutMs: parseDuration(p.lockTimeout!.default as string)!,
    lockRetries: p.lockRetries!.default as number,
    lockWaitMs: parseDuration(p.lockWait!.default as string)!,
    buildLockTimeoutMs: parseDuration(p.buildLockTimeout!.default as string)!,
    maintenanceWorkMem: p.maintenanceWorkMem!.default as string,
    parallelWorkers: p.parallelWorkers!.default as number,
    lint: p.lint!.default as boolean,
  };
}

/** The settings of a run: each one given, else its config default. */
export function settingsOf(opts: Partial<MigrateSettings>): MigrateSettings {
  const d = defaultMigrateSettings();
  return {
    lockTimeoutMs: opts.lockTimeoutMs ?? d.lockTimeoutMs,
    lockRetries: opts.lockRetries ?? d.lockRetries,
    lockWaitMs: opts.lockWaitMs ?? d.lockWaitMs,
    buildLockTimeoutMs: opts.buildLockTimeoutMs ?? d.buildLockTimeoutMs,
    maintenanceWorkMem: opts.maintenanceWorkMem ?? d.maintenanceWorkMem,
    parallelWorkers: opts.parallelWorkers ?? d.parallelWorkers,
    lint: opts.lint ?? d.lint,
    lintRules: opts.lintRules,
    lintSmallTable: opts.lintSmallTable ?? DEFAULT_SMALL_TABLE,
  };
}

export interface Blocker {
  pid: number;
  applicationName: string;
  state: string | null;
  xactStart: Date | null;
  query: string;
}

export interface MigrationSession {
  build: Client;
  /** server_version_num of the build connection's server. */
  serverVersion?: number;
  buildPid: number;
  /**
   * A connection of its own for looking at the build connection while it is busy, opened on
   * first use (a run whose statements all finish within the first poll interval opens none).
   */
  watch(): Promise<Client>;
  settings: MigrateSettings;
  logger: Logger;
  signal?: AbortSignal;
  /** Sessions seen blocking the build connection during the current try. */
  blockers: Map<number, Blocker>;
  /** The index build in flight, for the progress line. */
  activeBuild?: { index: string; table: string; lastLine?: string; lastPrintedAt?: number };
  /** Since when (performance.now()) the build connection has been waiting for an answer; unset when idle. */
  busySince?: number;
  /**
   * The build connection still has a build's session settings (no statement_timeout, the long
   * lock budget): set by build.ts, cleared once the settings of ordinary DDL are back.
   */
  buildSettings?: boolean;
  /** dbopt's session settings were just applied and nothing that could change them has run since. */
  settingsFresh?: boolean;
  /** Text of the last statement sent on the build connection (maps errors to a file line). */
  lastQuery?: string;
  /** Name of the migration running now. */
  current?: string;
  /**
   * Bookkeeping of a migration that ran outside a transaction (the settings of ordinary DDL and
   * its checksum), sent in one implicit transaction with node-pg-migrate's record of it (see
   * runnerClient), or by the record step if that record went by unrecognised.
   */
  deferred?: { name: string; sql: string };
  /** Things a migration did beyond its SQL (healed indexes, ANALYZE), by migration name. */
  notes: Map<string, string[]>;
  /**
   * The current migration runs outside a transaction and has already changed something: a
   * lock_timeout now cannot be retried from the start (what ran stays applied).
   */
  partial?: boolean;
}

export function note(session: MigrationSession, text: string): void {
  const name = session.current ?? '?';
  const list = session.notes.get(name) ?? [];
  list.push(text);
  session.notes.set(name, list);
}

export function describeBlockers(blockers: Iterable<Blocker>): string[] {
  return [...blockers].map(
    (b) =>
      `pid ${b.pid} (application_name "${b.applicationName}", ${b.state ?? 'unknown state'}${b.xactStart ? `, transaction open since ${b.xactStart.toISOString()}` : ''}): ${b.query.replace(/\s+/g, ' ').slice(0, 120)}`,
  );
}

async function pollBlockers(session: MigrationSession): Promise<void> {
  // Nearly always nobody blocks: ask pg_blocking_pids() alone (cheap), pg_stat_activity only for who.
  const watch = await session.watch();
  const blocking = await watch.query<{ any: boolean }>('SELECT cardinality(pg_blocking_pids($1)) > 0 AS any', [
    session.buildPid,
  ]);
  if (!blocking.rows[0]?.any) return;
  const { rows } = await watch.query<{
    pid: number;
    application_name: string;
    state: string | null;
    xact_start: Date | null;
    query: string;
  }>(
    `SELECT a.pid,
            a.application_name,
            a.state,
            a.xact_start,
            a.query
       FROM pg_stat_activity AS a
      WHERE a.pid = ANY (pg_blocking_pids($1))`,
    [session.buildPid],
  );
  for (const r of rows) {
    session.blockers.set(r.pid, {
      pid: r.pid,
      applicationName: r.application_name,
      state: r.state,
      xactStart: r.xact_start,
      query: r.query,
    });
  }
}

async function pollProgress(session: MigrationSession): Promise<void> {
  const build = session.activeBuild;
  if (!build || !session.logger.progress) return;
  const { rows } = await (
    await session.watch()
  ).query<{
    phase: string;
    blocks_done: string;
    blocks_total: string;
    tuples_done: string;
    tuples_total: string;
    lockers_done: string;
    lockers_total: string;
  }>(
    `SELECT phase,
            blocks_done,
            blocks_total,
            tuples_done,
            tuples_total,
            lockers_done,
            lockers_total
       FROM pg_stat_progress_create_index
      WHERE pid = $1`,
    [session.buildPid],
  );
  const p = rows[0];
  if (!p || session.activeBuild !== build) return;
  const pct = (done: string, total: string): string =>
    Number(total) > 0 ? ` (${Math.floor((100 * Number(done)) / Number(total))}%)` : '';
  let detail = '';
  if (Number(p.blocks_total) > 0)
    detail = `, ${p.blocks_done} of ${p.blocks_total} blocks${pct(p.blocks_done, p.blocks_total)}`;
  else if (Number(p.tuples_total) > 0)
    detail = `, ${p.tuples_done} of ${p.tuples_total} tuples${pct(p.tuples_done, p.tuples_total)}`;
  else if (Number(p.lockers_total) > 0) detail = `, ${p.lockers_done} of ${p.lockers_total} older transactions`;
  const line = `building ${build.index} on ${build.table}: ${p.phase}${detail}`;
  // On a TTY the line redraws in place; elsewhere print on a phase change or every 5 s.
  const now = Date.now();
  const phaseChanged = build.lastLine?.split(',')[0] !== line.split(',')[0];
  if (session.logger.isTTY || phaseChanged || now - (build.lastPrintedAt ?? 0) >= 5000) {
    session.logger.progress(line);
    build.lastPrintedAt = now;
  }
  build.lastLine = line;
}

/** How often the watcher looks at the build connection (it sends a query only when a wait lasts). */
const WATCH_TICK_MS = 25;

/**
 * Poll blockers every 100 ms once a statement has waited 50 ms for its answer (a 200 ms
 * lock_timeout must not slip between polls, with a connection set-up before the first), or
 * once a concurrent build has run a second (half its lock budget if shorter): a build waits
 * on its own for older transactions, and its budget is long. Poll build progress every second
 * of a build. A statement answered sooner has nobody to name and no progress to show, so a
 * run of quick statements and short builds sends no poll at all (each poll is a query whose
 * snapshot a concurrent build waits out) and opens no watch connection; the first poll opens it.
 */
export function startWatcher(session: MigrationSession): { stop(): Promise<void> } {
  let running = true;
  const ctl = new AbortController();
  let lastBlockers = -Infinity;
  let lastProgress = -Infinity;
  const loop = (async () => {
    while (running) {
      await sleep(WATCH_TICK_MS, ctl.signal).catch(() => undefined);
      if (!running) break;
      const since = session.busySince;
      if (since === undefined) continue;
      const now = performance.now();
      const waited = now - since;
      const building = session.activeBuild !== undefined;
      const patience = building ? Math.min(1000, session.settings.buildLockTimeoutMs / 2) : 50;
      try {
        if (waited >= patience && now - lastBlockers >= 100) {
          lastBlockers = now;
          await pollBlockers(session);
        }
        if (building && waited >= 1000 && now - lastProgress >= 1000) {
          lastProgress = now;
          await pollProgress(session);
        }
      } catch {
        // The watcher is advisory; a failed poll must not fail the migration.
      }
    }
  })();
  return {
    stop: async () => {
      running = false;
      ctl.abort();
      await loop;
    },
  };
}

/**
 * dbopt's own session settings of the build connection, applied afresh before every migration:
 * RESET ALL first, so a SET in one migration (session-level outside a transaction, and kept
 * after COMMIT inside one) does not leak into the next. application_name is a connection
 * parameter, which RESET ALL restores rather than clears.
 */
export async function resetSessionSettings(
  session: Pick<MigrationSession, 'build' | 'settings' | 'serverVersion' | 'buildSettings'>,
): Promise<void> {
  const ms = Math.round(session.settings.lockTimeoutMs);
  // PostgreSQL 14+: notice a vanished client (kill -9) within a second and abort its build,
  // instead of finishing a long CREATE INDEX nobody will record. One round trip (the values are
  // dbopt's own integers); an older or unknown server gets the check on its own, allowed to fail.
  const check = (session.serverVersion ?? 0) >= 140000;
  await session.build.query(
    `RESET ALL; SET lock_timeout = '${ms}ms'${check ? `; SET client_connection_check_interval = '1s'` : ''}`,
  );
  session.buildSettings = false;
  if (!check && session.serverVersion === undefined) {
    await setSetting(session.build, 'client_connection_check_interval', '1s').catch(() => undefined);
  }
}

/** Apply a setting on the build connection for the rest of the session (set_config: a bind parameter, not SQL text). */
export async function setSetting(client: Client, name: string, value: string): Promise<void> {
  await client.query('SELECT set_config($1, $2, false)', [name, value]);
}
