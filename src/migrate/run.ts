// dbopt migrate up/down: migrate() as a sequence of named steps. Before connecting: read
// the files and lint them. Then: lock (dbopt's advisory lock, held by the build connection
// every statement goes through: the lock and the run live and die together), tables (the dbopt
// schema and the checksums table), load (what is applied; edited or deleted applied files
// refused), lint gate (errors in what this run applies refuse it), plan (how many), run each
// (node-pg-migrate's runner through dbopt's loaders, lock_timeout retries with backoff) and
// record (what each pass applied, in order, with its timing and checksum). One closeRun()
// releases everything.
import type { Client } from 'pg';
import { connect, type ConnectionTarget } from '../db/connection.js';
import { stillDoing, UnresponsiveError } from '../db/deadline.js';
import { formatPgError, isPgError, type PgErrorLike } from '../db/pgerror.js';
import { ConnectionError, DbOptError, FindingsError, UsageError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { CHECKSUMS_TABLE, ensureChecksumsTable, readChecksums, recordChecksum } from './checksums.js';
import { dryRun } from './dryRun.js';
import {
  appliedMigrations,
  appliedNamesOutsideTransaction,
  checksumProblems,
  listMigrationFiles,
  MIGRATIONS_SCHEMA,
  MIGRATIONS_TABLE,
  prepare,
  readBookkeeping,
  bookkeepingOf,
  bookkeepingSql,
  isUndefinedTable,
  type Bookkeeping,
  refuseChecksumProblems,
  rel,
  type MigrationFile,
  type Prepared,
} from './files.js';
import type { MigrateOptions, MigrateResult, MigrationRun } from './index.js';
import { formatFinding, lintFiles, type LintFinding } from './lint/index.js';
import { lintPendingSized } from './lintGate.js';
import type { SqlMigrationFile } from './sqlFile.js';
import { DEFAULT_SMALL_TABLE } from '../config.js';
import { jsLoader, migrationStarts, sqlLoader } from './loaders.js';
import { runnerClient } from './runnerClient.js';
import { acquireMigrateLock, HOLDS_MIGRATE_LOCK_SQL, releaseMigrateLock, TRY_MIGRATE_LOCK_SQL } from './lock.js';
import { describeBlockers, settingsOf, startWatcher, type MigrateSettings, type MigrationSession } from './session.js';
import { backoffDelay, sleep } from './wait.js';

type Direction = 'up' | 'down';

export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const direction = opts.direction ?? 'up';
  const settings = settingsOf(opts);
  const files = listMigrationFiles(opts.dir);
  // The build connection opens while the files are read and linted (a connection set-up is the
  // longest wait of a short run); nothing is sent on it before the lint has passed, and a
  // refusal closes it and wins over a connection error.
  const opening = opts.dryRun ? undefined : openRun(opts, settings, direction);
  opening?.catch(() => undefined);
  let prepared: Map<string, Prepared>;
  let lint: LintGate;
  let parsed: Map<string, SqlMigrationFile>;
  try {
    prepared = await prepare(files);
    parsed = parsedFiles(prepared);
    lint = await lintBeforeConnecting(files, direction, settings, parsed);
  } catch (err) {
    if (opening) await opening.then(closeRun, () => undefined);
    throw err;
  }
  if (!opening) {
    const result = await dryRun(opts, files, prepared, settings, []);
    result.lintWarnings = lint.of(new Set(result.ran.map((r) => r.name)));
    return result;
  }
  const run = await opening;
  try {
    const started = await startSession(run);
    await takeLock(run, started.locked);
    const session = await openSession(run, started);
    const known = started.known ?? (await readBookkeeping(session.build, CHECKSUMS_TABLE));
    if (!known) await ensureTables(session);
    // The schema exists from here on (ensureTables made it, or its tables were read).
    run.schemaReady = true;
    run.tableReady = known?.keyed === true;
    const pending = await loadApplied(session.build, files, prepared, opts.dir, known);
    const plan = planRun(pending, direction, opts.count);
    const lintWarnings = await gatePending(session, files, plan.names, run, parsed);
    const progress = await runEach(run, session, prepared, plan.wanted, pending.applied);
    // Everything is applied and recorded: losing the connection now stops nothing, and it has
    // nothing in flight and no transaction open.
    run.closing = true;
    run.idle = true;
    return {
      direction,
      dryRun: false,
      server: opts.target.display,
      ran: timings(progress, session, prepared),
      pendingBefore: pending.length,
      lintWarnings,
      lockRetries: progress.retries,
    };
  } finally {
    await closeRun(run);
  }
}

/** SQL files parsed once by prepare(), by path, for the lint. */
function parsedFiles(prepared: Map<string, Prepared>): Map<string, SqlMigrationFile> {
  const out = new Map<string, SqlMigrationFile>();
  for (const p of prepared.values()) if (p.sql) out.set(p.file.file, p.sql);
  return out;
}

/** What a run holds open and how it stops; closeRun() releases all of it. */
interface Run {
  opts: MigrateOptions;
  settings: MigrateSettings;
  logger: Logger;
  direction: Direction;
  /** Aborted on SIGINT/SIGTERM (opts.signal) and when the migrate lock is lost. */
  stop: AbortController;
  /** The build connection holds the migrate lock. */
  locked: boolean;
  /** Once set, a lost build connection stops nothing (the run is recorded, or ending anyway). */
  closing: boolean;
  /** The dbopt schema exists: node-pg-migrate need not CREATE SCHEMA IF NOT EXISTS on every pass. */
  schemaReady?: boolean;
  /** dbopt.migrations existed with its primary key when the run started (see runnerClient). */
  tableReady?: boolean;
  /** The run ended well: every query on the build connection was answered, no transaction is open. */
  idle?: boolean;
  build: Client;
  /** The watch connection, once something asked for it (see MigrationSession.watch). */
  watch?: Promise<Client>;
  session?: MigrationSession;
  watcher?: { stop(): Promise<void> };
  /** Listeners to remove when the run ends. */
  detach: (() => void)[];
}

function withApplicationName(target: ConnectionTarget, name: string): ConnectionTarget {
  return { ...target, config: { ...target.config, application_name: name } };
}

/** The run's stop signal (following opts.signal) and its build connection. */
async function openRun(opts: MigrateOptions, settings: MigrateSettings, direction: Direction): Promise<Run> {
  const stop = new AbortController();
  const forwardSignal = (): void => stop.abort(opts.signal!.reason);
  if (opts.signal?.aborted) forwardSignal();
  else opts.signal?.addEventListener('abort', forwardSignal, { once: true });
  const detach = [(): void => opts.signal?.removeEventListener('abort', forwardSignal)];
  const buildTarget = withApplicationName(opts.target, 'dbopt migrate');
  let build: Client;
  try {
    build = await connect(buildTarget);
  } catch (err) {
    detach[0]!();
    throw err;
  }
  // sslmode prefer/allow settled on the copy: later connections to this target (the watch and
  // cancel connections, the next run in this process) go straight to what answered.
  if (buildTarget.tls !== opts.target.tls) {
    opts.target.config.ssl = buildTarget.config.ssl;
    opts.target.tls = buildTarget.tls;
  }
  const logger = opts.logger ?? silentLogger;
  return { opts, settings, logger, direction, stop, build, locked: false, closing: false, detach };
}

/** The watch connection of the run, opened on first use (MigrationSession.watch). */
function watchConnection(run: Run): Promise<Client> {
  if (!run.watch) {
    run.watch = connect(withApplicationName(run.opts.target, 'dbopt migrate (watch)'));
    // A failed open fails the polls that wait on it (they are advisory), nothing else.
    run.watch.catch(() => undefined);
  }
  return run.watch;
}

/**
 * Step "lock": one migrator at a time (firstTry: the answer of the try startSession made); the
 * run stops if the build connection, which holds the lock, breaks.
 */
async function takeLock(run: Run, firstTry: boolean): Promise<void> {
  const { opts, build } = run;
  await acquireMigrateLock(build, {
    waitMs: run.settings.lockWaitMs,
    signal: run.stop.signal,
    logger: run.logger,
    database: opts.target.display,
    firstTry,
  });
  run.locked = true;
  // The advisory lock lives as long as this connection: if it breaks (server restart, a
  // proxy or pooler dropping it, pg_terminate_backend), another migrator can start while the
  // backend may still be running a statement of ours, so the run stops: nothing more is sent,
  // the current migration is not recorded, and the statement is cancelled from another connection.
  const lockLost = (err?: Error): void => {
    if (run.closing || run.stop.signal.aborted) return;
    // The server stopped answering (its socket open, frozen): say so, not "lost the lock".
    if (err instanceof UnresponsiveError) {
      run.stop.abort(serverStoppedAnswering(err, run.session));
      return;
    }
    const current = run.session?.current;
    const how = err ? `failed (${err.message})` : 'was closed';
    run.stop.abort(
      new ConnectionError(
        `lost the migrate lock on ${opts.target.display}: its connection ${how}, so another migrator could start; ` +
          `stopped${current ? ` during migration ${current}, which was not recorded` : ''}`,
        {
          hint:
            'Run dbopt migrate again over a direct or session-pooled connection (not PgBouncer transaction ' +
            'pooling); dbopt migrate status shows what was applied.',
        },
      ),
    );
  };
  build.on('error', lockLost);
  build.on('end', () => lockLost());
}

/** What startSession() learnt. */
interface Started {
  pid: number;
  version: number;
  /** The first try took the migrate lock. */
  locked: boolean;
  /** The bookkeeping, when it was read under the lock; otherwise it is read once the lock is held. */
  known?: Bookkeeping;
}

/**
 * The build connection's pid and server version, dbopt's session settings on it (as
 * resetSessionSettings applies them), the first try of the migrate lock and the bookkeeping, in
 * one round trip. The session-level lock outlasts the statements' implicit transaction and is
 * not released by a rollback of it. The bookkeeping counts only when that try took the lock and
 * the session reads committed: each statement then takes its snapshot after the one that took
 * the lock, so it sees all the previous holder committed before giving the lock back (under
 * REPEATABLE READ the batch would share a snapshot taken before the lock). On a first run a
 * bookkeeping table is missing and the batch fails (42P01): the settings and the try are sent
 * again, asking first whether the failed batch took the lock, so that it is not taken twice.
 */
async function startSession(run: Run): Promise<Started> {
  const ms = Math.round(run.settings.lockTimeoutMs);
  // PostgreSQL 14+ has client_connection_check_interval; the CASE keeps older servers from seeing it.
  const head = (locked: string): string => `RESET ALL; SET lock_timeout = '${ms}ms';
     SELECT pg_backend_pid() AS pid,
            current_setting('server_version_num')::int AS version,
            CASE WHEN current_setting('server_version_num')::int >= 140000
                 THEN set_config('client_connection_check_interval', '1s', false) END AS check_interval,
            current_setting('transaction_isolation') AS isolation,
            ${locked} AS locked`;
  type Results = { rows: (Started & { isolation: string } & Record<string, string>)[] }[];
  try {
    const res = (await run.build.query(
      `${head(TRY_MIGRATE_LOCK_SQL)}; ${bookkeepingSql(CHECKSUMS_TABLE)}`,
    )) as unknown as Results;
    const { pid, version, locked, isolation } = res[2]!.rows[0]!;
    const fresh = locked && isolation === 'read committed';
    return { pid, version, locked, known: fresh ? bookkeepingOf(res.slice(3)) : undefined };
  } catch (err) {
    if (!isUndefinedTable(err)) throw err;
    const res = (await run.build.query(
      head(`CASE WHEN ${HOLDS_MIGRATE_LOCK_SQL} THEN true ELSE ${TRY_MIGRATE_LOCK_SQL} END`),
    )) as unknown as Results;
    const { pid, version, locked } = res[2]!.rows[0]!;
    return { pid, version, locked };
  }
}

/** Step "lock", second half: the build connection every statement of the run goes through. */
async function openSession(run: Run, started: { pid: number; version: number }): Promise<MigrationSession> {
  const build = run.build;
  const session: MigrationSession = {
    build,
    buildPid: started.pid,
    serverVersion: started.version,
    watch: () => watchConnection(run),
    settings: run.settings,
    logger: run.logger,
    signal: run.stop.signal,
    blockers: new Map(),
    notes: new Map(),
    // startSession applied dbopt's settings; until the first migration nothing changes them.
    settingsFresh: true,
  };
  run.session = session;
  guardBuildQueries(session, run.stop.signal);
  cancelOnStop(run, session);
  if (run.stop.signal.aborted) throw run.stop.signal.reason;
  return session;
}

/**
 * Remember what ran last on the build connection, to point errors at a file line, and since
 * when it has been waiting for an answer (the watcher polls only a wait that lasts); once the
 * run is stopping send nothing more but ROLLBACK (no INSERT into dbopt.migrations, no COMMIT).
 */
function guardBuildQueries(session: MigrationSession, signal: AbortSignal): void {
  const build = session.build;
  const query = build.query.bind(build) as (...args: unknown[]) => Promise<unknown>;
  let inFlight = 0;
  const settled = (): void => {
    if (--inFlight === 0) session.busySince = undefined;
  };
  (build as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
    const q = args[0];
    if (signal.aborted && q !== 'ROLLBACK') return Promise.reject(signal.reason as Error);
    if (typeof q === 'string' && !/^(SELECT set_config|RESET |SELECT pg_backend_pid)/.test(q)) session.lastQuery = q;
    const sent = query(...args);
    if (sent && typeof sent.then === 'function') {
      if (inFlight++ === 0) session.busySince = performance.now();
      sent.then(settled, settled);
    }
    return sent;
  };
}

/**
 * On stop, cancel whatever the build connection runs now; its transaction (if any) rolls back.
 * From the watch connection when it is open, else from a connection of its own (the build
 * connection is busy, or the one that broke).
 */
function cancelOnStop(run: Run, session: MigrationSession): void {
  const cancel = async (c: Client): Promise<unknown> => c.query('SELECT pg_cancel_backend($1)', [session.buildPid]);
  const onAbort = (): void => {
    const watch = run.watch ?? Promise.reject(new Error('no watch connection'));
    void watch
      .then(cancel)
      .catch(async () => {
        const c = await connect(withApplicationName(run.opts.target, 'dbopt migrate (cancel)'));
        try {
          await cancel(c);
        } finally {
          await c.end().catch(() => undefined);
        }
      })
      .catch(() => undefined);
  };
  run.stop.signal.addEventListener('abort', onAbort, { once: true });
  run.detach.push(() => run.stop.signal.removeEventListener('abort', onAbort));
}

/**
 * Step "tables", on a run that found the bookkeeping tables missing (the first run, or a
 * database node-pg-migrate ran on before dbopt): the dbopt schema and the checksums table.
 */
async function ensureTables(session: MigrationSession): Promise<void> {
  await session.build.query(`CREATE SCHEMA IF NOT EXISTS ${MIGRATIONS_SCHEMA}`);
  await ensureChecksumsTable(session.build);
}

/**
 * Step "load": what is applied; edited or deleted applied files are refused; files applied
 * before dbopt kept checksums (plain node-pg-migrate) are adopted as they are. Returns the
 * pending files.
 */
async function loadApplied(
  build: Client,
  files: MigrationFile[],
  prepared: Map<string, Prepared>,
  dir: string,
  known: { applied: string[]; sums: Map<string, string> } | undefined,
): Promise<MigrationFile[] & { applied: string[] }> {
  const applied = known?.applied ?? (await appliedNames(build));
  const sums = known?.sums ?? (await readChecksums(build));
  refuseChecksumProblems(checksumProblems(files, applied, sums), dir);
  for (const name of applied) {
    const p = prepared.get(name);
    if (p && !sums.has(name)) await recordChecksum(build, name, p.checksum);
  }
  const appliedSet = new Set(applied);
  return Object.assign(
    files.filter((f) => !appliedSet.has(f.name)),
    { applied },
  );
}

async function appliedNames(client: Client): Promise<string[]> {
  return (await appliedMigrations(client)).map((a) => a.name);
}

interface LintGate {
  /** The findings of the files with these migration names. */
  of(names: Set<string>): LintFinding[];
}

/**
 * Step "lint gate", before connecting: a file that cannot run at all (CONCURRENTLY inside a
 * transaction) is refused here; other errors refuse once we know which files are pending.
 */
async function lintBeforeConnecting(
  files: MigrationFile[],
  direction: Direction,
  settings: MigrateSettings,
  parsed: Map<string, SqlMigrationFile>,
): Promise<LintGate> {
  let findings: LintFinding[] = [];
  if (direction === 'up' && settings.lint) {
    findings = (
      await lintFiles(
        files.map((f) => f.file),
        { rules: settings.lintRules, parsed },
      )
    ).findings;
    const fatal = findings.filter((f) => f.fatal);
    if (fatal.length > 0) throw lintRefusal(fatal, 'before connecting');
  }
  return { of: (names) => findings.filter((f) => names.has(files.find((x) => rel(x.file) === f.file)?.name ?? '')) };
}

/**
 * Step "lint gate", once connected: the migrations this run applies, linted as one pending set
 * and sized by the real tables (a lock on a small or newly created table is a note); errors
 * refuse the run, warnings are logged and kept, notes go to --verbose.
 */
async function gatePending(
  session: MigrationSession,
  files: MigrationFile[],
  names: Set<string>,
  run: Run,
  parsed: Map<string, SqlMigrationFile>,
): Promise<LintFinding[]> {
  if (!run.settings.lint || names.size === 0) return [];
  const findings = await lintPendingSized(
    session.build,
    files.filter((f) => names.has(f.name)).map((f) => f.file),
    {
      rules: run.settings.lintRules,
      parsed,
      smallTable: run.settings.lintSmallTable ?? DEFAULT_SMALL_TABLE,
      server: run.opts.target.display,
    },
  );
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length > 0) throw lintRefusal(errors, 'in pending migrations');
  const warnings = findings.filter((f) => f.severity === 'warning');
  for (const w of warnings) run.logger.warn(formatFinding(w));
  for (const n of findings.filter((f) => f.severity === 'note')) run.logger.debug(formatFinding(n));
  return warnings;
}

function lintRefusal(findings: LintFinding[], when: string): FindingsError {
  const first = findings[0]!;
  const errors = `${findings.length} error${findings.length === 1 ? '' : 's'}`;
  const where = `${first.file}${first.line ? `:${first.line}` : ''}`;
  return new FindingsError(`migrate lint found ${errors} ${when}: ${where} ${first.code}`, {
    details: findings.map(formatFinding),
    hint: 'Fix the migrations as each line says (dbopt migrate lint shows them), or pass --no-lint to apply anyway.',
  });
}

/**
 * Step "plan": how many migrations this run applies (all pending) or reverts (one), unless
 * --count says; and the names this run applies, which is what the lint gate judges.
 */
function planRun(
  pending: MigrationFile[],
  direction: Direction,
  count: number | undefined,
): { wanted: number; names: Set<string> } {
  const applying = direction === 'up' ? pending.slice(0, count ?? Infinity) : [];
  return { wanted: count ?? (direction === 'up' ? Infinity : 1), names: new Set(applying.map((f) => f.name)) };
}

/** What the passes of node-pg-migrate's runner did so far (a pass ends at a lock_timeout). */
interface Progress {
  /** Migrations applied (up) or reverted (down), in the order they ran. */
  done: string[];
  ends: Map<string, number>;
  retries: number;
  started: number;
}

type Jiti = { import(p: string): Promise<unknown> };

/**
 * Step "run each": node-pg-migrate runs the wanted migrations one by one through dbopt's
 * loaders. A lock_timeout rolls the failed migration back and retries it with backoff, up to
 * migrate.lockRetries tries in a row, unless it had already changed something outside a
 * transaction; any other failure stops the run, pointed at the file line.
 */
async function runEach(
  run: Run,
  session: MigrationSession,
  prepared: Map<string, Prepared>,
  wanted: number,
  appliedAtStart: string[],
): Promise<Progress> {
  const { runner, jiti } = await import('node-pg-migrate');
  run.watcher = startWatcher(session);
  const progress: Progress = { done: [], ends: new Map(), retries: 0, started: performance.now() };
  let attempt = 0;
  // What loadApplied read is still true for the first pass (we hold the migrate lock).
  let known: string[] | undefined = appliedAtStart;
  for (;;) {
    const before = known ?? (await appliedNamesOutsideTransaction(session.build));
    known = undefined;
    const pass = await runnerPass(run, session, prepared, wanted - progress.done.length, before, runner, jiti);
    const progressed = await record(session, run.direction, before, prepared, progress, pass.ran);
    const failure = pass.ran ? undefined : pass;
    if (!failure) return progress;
    if (progressed.length > 0) {
      session.blockers.clear();
      attempt = 0;
    }
    const { err } = failure;
    if (!isPgError(err) || err.code !== '55P03') throw describeFailure(err, session, prepared, run.opts.target);
    if (session.partial) throw partialLockFailure(err, session, run.opts.target);
    if (attempt >= run.settings.lockRetries) throw lockRetriesExhausted(err, session, attempt, run.opts.target);
    const delay = backoffDelay(attempt);
    attempt++;
    progress.retries++;
    const who = session.blockers.size ? `; blocked by pid ${[...session.blockers.keys()].join(', pid ')}` : '';
    const reached = `lock_timeout (${run.settings.lockTimeoutMs}ms) reached${who}`;
    run.logger.warn(
      `${session.current ?? 'migration'}: ${reached}; ` +
        `rolled back, try ${attempt + 1} of ${run.settings.lockRetries + 1} in ${delay} ms`,
    );
    await sleep(delay, run.stop.signal);
  }
}

/**
 * One pass of node-pg-migrate's runner (`applied`: the names applied as it starts): the names it
 * applied or reverted, in the order it ran them; a failure is rolled back and returned (a stop
 * is thrown).
 */
async function runnerPass(
  run: Run,
  session: MigrationSession,
  prepared: Map<string, Prepared>,
  count: number,
  applied: string[],
  runner: typeof import('node-pg-migrate').runner,
  jiti: Jiti,
): Promise<{ ran: string[]; err?: undefined } | { ran?: undefined; err: unknown }> {
  const debug = (m: string): void => run.logger.debug(m);
  try {
    const ran = await runner({
      dbClient: runnerClient(session.build, { ready: run.tableReady === true, applied }, session),
      dir: run.opts.dir,
      direction: run.direction,
      count,
      migrationsSchema: MIGRATIONS_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
      createMigrationsSchema: !run.schemaReady,
      noLock: true,
      singleTransaction: false,
      checkOrder: true,
      // Only migration files: a README or notes file in the directory is not a migration.
      ignorePattern: '(\\..*|.*\\.d\\.ts|(?!.*\\.(sql|js|cjs|mjs|ts)$).*)',
      migrationLoaderStrategies: [
        { extensions: ['.sql'], loader: sqlLoader(session, prepared) },
        { extensions: ['.js', '.cjs', '.mjs', '.ts', '.cts', '.mts'], loader: jsLoader(session, jiti) },
      ],
      logger: { info: debug, warn: debug, error: debug, debug },
    } as Parameters<typeof runner>[0]);
    return { ran: ran.map((m) => m.name) };
  } catch (err) {
    // node-pg-migrate leaves a failed transaction open on a client it does not own.
    await session.build.query('ROLLBACK').catch(() => undefined);
    if (run.stop.signal.aborted) throw run.stop.signal.reason;
    return { err };
  }
}

/**
 * Step "record", after every pass, failed or not: which migrations it applied or reverted, in
 * the order they ran, when each ended, and the checksums of JS/TS ones. A pass that ended well
 * says itself what it ran (node-pg-migrate recorded each before the next); after a failed one
 * dbopt.migrations says. A down pass reverts the last applied first, so its names are reversed;
 * the failed-pass path used to keep them in applied order, which misattributed timings on a
 * retried revert.
 */
async function record(
  session: MigrationSession,
  direction: Direction,
  before: string[],
  prepared: Map<string, Prepared>,
  progress: Progress,
  ran: string[] | undefined,
): Promise<string[]> {
  const build = session.build;
  let progressed = ran;
  if (!progressed) {
    const after = await appliedNamesOutsideTransaction(build);
    const had = new Set(before);
    const has = new Set(after);
    progressed = direction === 'up' ? after.filter((n) => !had.has(n)) : before.filter((n) => !has.has(n)).reverse();
  }
  progress.done.push(...progressed);
  for (const n of progressed) progress.ends.set(n, performance.now());
  // The pass's last migration was recorded in words runnerClient did not know: its deferred
  // bookkeeping follows here. One that was not recorded (the pass failed) keeps none.
  const deferred = session.deferred;
  session.deferred = undefined;
  if (deferred && progressed.includes(deferred.name)) await build.query(deferred.sql);
  await recordJsChecksums(build, progressed, prepared, direction);
  return progressed;
}

/** JS/TS migrations record through node-pg-migrate only; their checksums follow right after. */
async function recordJsChecksums(
  client: Client,
  names: string[],
  prepared: Map<string, Prepared>,
  direction: 'up' | 'down',
): Promise<void> {
  for (const name of names) {
    const p = prepared.get(name);
    if (!p || p.sql) continue;
    if (direction === 'up') await recordChecksum(client, name, p.checksum);
    else await client.query(`DELETE FROM ${CHECKSUMS_TABLE} WHERE name = $1`, [name]);
  }
}

/** A migration ends when the next one starts (node-pg-migrate runs its steps in between). */
function timings(progress: Progress, session: MigrationSession, prepared: Map<string, Prepared>): MigrationRun[] {
  const startTimes = migrationStarts(session);
  const ordered = progress.done.map((name) => ({ name, start: startTimes.get(name) ?? progress.started }));
  return ordered.map((m, i) => {
    const end = ordered[i + 1]?.start ?? progress.ends.get(m.name) ?? performance.now();
    const file = prepared.get(m.name)?.file.file ?? m.name;
    return { name: m.name, file, durationMs: Math.max(0, Math.round(end - m.start)), notes: session.notes.get(m.name) };
  });
}

/**
 * Outside a transaction the statements before this one stayed applied: running the migration
 * again from the start could repeat them (or let IF NOT EXISTS skip a half-done one).
 */
function partialLockFailure(err: PgErrorLike, session: MigrationSession, target: ConnectionTarget): FindingsError {
  return new FindingsError(
    `migration ${session.current ?? '?'} could not take its lock within lock_timeout after some of its statements ` +
      'had run outside a transaction; not retried',
    {
      details: [
        ...formatPgError(err, undefined, target.secrets),
        ...describeBlockers(session.blockers.values()).map((b) => `blocked by ${b}`),
      ],
      hint:
        'Check which of its statements took effect, end the blocking transactions, then run dbopt migrate again; ' +
        'the migration was not recorded.',
    },
  );
}

function lockRetriesExhausted(
  err: PgErrorLike,
  session: MigrationSession,
  attempt: number,
  target: ConnectionTarget,
): FindingsError {
  const blockers = describeBlockers(session.blockers.values());
  const pids = blockers.length ? `: blocked by pid ${[...session.blockers.keys()].join(', pid ')}` : '';
  return new FindingsError(
    `migration ${session.current ?? '?'} could not take its lock within lock_timeout ` +
      `${session.settings.lockTimeoutMs}ms, ${attempt + 1} tries${pids}`,
    {
      details: [
        ...formatPgError(err, undefined, target.secrets),
        ...(blockers.length ? ['blocking sessions:', ...blockers.map((b) => `  ${b}`)] : []),
      ],
      hint:
        'End or wait out the blocking transactions (SELECT pg_terminate_backend(pid) if they are stuck), ' +
        'then run dbopt migrate again; nothing of this migration was applied.',
    },
  );
}

/** Map the statement that failed back to its file, line and column. */
function describeFailure(
  err: unknown,
  session: MigrationSession,
  prepared: Map<string, Prepared>,
  target: ConnectionTarget,
): DbOptError {
  if (err instanceof DbOptError) return err;
  const name = session.current;
  const p = name ? prepared.get(name) : undefined;
  if (isPgError(err)) {
    const stmt =
      p?.sql && session.lastQuery
        ? [...p.sql.up.statements, ...(p.sql.down?.statements ?? [])].find(
            (s) => `${s.text}\n;` === session.lastQuery || s.text === session.lastQuery,
          )
        : undefined;
    const source =
      stmt && p?.sql
        ? {
            file: err.position ? p.sql.file : `${p.sql.file}:${stmt.line}:1`,
            text: stmt.text,
            offsetInFile: stmt.offset,
            fileText: p.sql.text,
          }
        : undefined;
    return new FindingsError(`migration ${name ?? '?'} failed: ${err.message}`, {
      details: formatPgError(err, source, target.secrets),
      hint:
        'Fix the migration and run dbopt migrate again; the failed migration was not recorded ' +
        '(it ran in a transaction, or dbopt records it only after it succeeds).',
    });
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (/preceding already run migration|have been deleted|Error loading migration/.test(msg)) {
    return new UsageError(msg, {
      hint: 'Migrations must be applied in file-name order: rename the new file so it sorts after the applied ones.',
    });
  }
  return new FindingsError(`migration ${name ?? '?'} failed: ${msg}`, { cause: err });
}

/** Release everything the run holds, in order: listeners, the watcher, the build connection (and lock), the watch. */
async function closeRun(run: Run): Promise<void> {
  run.closing = true;
  for (const d of run.detach) d();
  await run.watcher?.stop();
  run.logger.progressDone?.();
  const build = run.build;
  const closeWatch = (): Promise<void> =>
    run.watch ? run.watch.then((c) => c.end()).catch(() => undefined) : Promise.resolve();
  if (!run.idle) {
    // The ROLLBACK waits out a statement still running (cancelled on stop), which pg's end()
    // would only cut off; end() resolves once the server closed the connection, after its
    // backend ended and with it the lock: nothing of this run still runs when another migrator starts.
    await build.query('ROLLBACK').catch(() => undefined);
    await build.end().catch(() => undefined);
    await closeWatch();
    return;
  }
  // A run that ended well: the build connection is idle outside a transaction. The lock is given
  // back at once (the next migrator need not wait for the backend to end) and nothing waits on
  // the closes; if it was not given back, it goes only once its connection is gone.
  const released = run.locked ? await releaseMigrateLock(build).catch(() => false) : true;
  const closed = Promise.all([build.end().catch(() => undefined), closeWatch()]);
  if (!released) await closed;
}

/** The server gave no answer during the run: say during which migration and what it may still do. */
function serverStoppedAnswering(err: UnresponsiveError, session?: MigrationSession): UnresponsiveError {
  const statement = session?.lastQuery?.replace(/\s+/g, ' ').trim();
  const shown = statement && statement.length > 80 ? `${statement.slice(0, 77)}...` : statement;
  const during = session?.current
    ? ` during migration ${session.current}${shown ? ` (running "${shown}")` : ''}, which was not recorded`
    : '';
  return new UnresponsiveError(
    `no answer from ${err.server} for ${(err.silentMs / 1000).toFixed(1)} s${during}`,
    err.server,
    err.silentMs,
    {
      hint: statement ? stillDoing(statement) : err.hint,
    },
  );
}
