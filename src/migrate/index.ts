// dbopt migrate: node-pg-migrate's programmatic runner on a connection dbopt owns, with
// dbopt's own advisory lock (held on a second connection), checksums of applied files, lint
// before applying, safe concurrent index builds (build.ts), and lock_timeout retries with
// backoff for other DDL. Bookkeeping lives in the dbopt schema: dbopt.migrations (node-pg-
// migrate's table) and dbopt.migration_checksums.
import { readdirSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';
import { CONFIG_SPEC } from '../config.js';
import { parseDuration } from '../duration.js';
import { connect, type ConnectionTarget } from '../db/connection.js';
import { DbOptError, UsageError, FindingsError, ConnectionError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { isPgError, formatPgError } from '../db/pgerror.js';
import { readSqlMigration, mustRunOutsideTransaction, splitStatements, nodeType, type SqlMigrationFile, type SqlStatement } from './sqlFile.js';
import { acquireMigrateLock, releaseMigrateLock } from './lock.js';
import { CHECKSUMS_TABLE, ensureChecksumsTable, fileChecksum, forgetChecksumStep, readChecksums, recordChecksum, recordChecksumStep } from './checksums.js';
import { buildIndexConcurrently, isConcurrentIndexBuild, useBuildSettings, useDdlSettings } from './build.js';
import { describeBlockers, resetSessionSettings, startWatcher, type MigrateSettings, type MigrationSession } from './session.js';
import { backoffDelay, sleep } from './wait.js';
import { lintFiles, formatFinding, type LintFinding } from './lint/index.js';
import { renderJsMigration } from './render.js';

export type { MigrateSettings } from './session.js';

export const MIGRATIONS_SCHEMA = 'dbopt';
export const MIGRATIONS_TABLE = 'migrations';
const MIGRATION_EXTENSIONS = ['.sql', '.js', '.cjs', '.mjs', '.ts'];

export interface MigrationFile {
  /** Name as recorded in dbopt.migrations: the file name without extension. */
  name: string;
  file: string;
}

export interface MigrateOptions extends Partial<MigrateSettings> {
  target: ConnectionTarget;
  dir: string;
  direction?: 'up' | 'down';
  count?: number;
  dryRun?: boolean;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface MigrationRun {
  name: string;
  file: string;
  durationMs: number;
  /** SQL that would run (dry run). */
  sql?: string[];
  /** What dbopt did beyond the SQL: healed indexes, ANALYZE, adopted indexes. */
  notes?: string[];
}

export interface MigrateResult {
  direction: 'up' | 'down';
  dryRun: boolean;
  server: string;
  ran: MigrationRun[];
  pendingBefore: number;
  /** Lint warnings of the pending migrations (errors refuse the run). */
  lintWarnings: LintFinding[];
  /** Tries that hit lock_timeout and were retried. */
  lockRetries: number;
}

export interface MigrationStatus {
  name: string;
  file?: string;
  state: 'applied' | 'pending' | 'modified' | 'missing';
  appliedAt?: string;
}

export interface StatusResult {
  server: string;
  migrations: MigrationStatus[];
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

function settingsOf(opts: MigrateOptions): MigrateSettings {
  const d = defaultMigrateSettings();
  return {
    lockTimeoutMs: opts.lockTimeoutMs ?? d.lockTimeoutMs,
    lockRetries: opts.lockRetries ?? d.lockRetries,
    lockWaitMs: opts.lockWaitMs ?? d.lockWaitMs,
    buildLockTimeoutMs: opts.buildLockTimeoutMs ?? d.buildLockTimeoutMs,
    maintenanceWorkMem: opts.maintenanceWorkMem ?? d.maintenanceWorkMem,
    parallelWorkers: opts.parallelWorkers ?? d.parallelWorkers,
    lint: opts.lint ?? d.lint,
  };
}

export function listMigrationFiles(dir: string): MigrationFile[] {
  if (!existsSync(dir)) {
    throw new UsageError(`migrations directory not found: ${dir}`, { hint: 'Create it, or set migrate.dir in dbopt.config.json / pass --dir.' });
  }
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && MIGRATION_EXTENSIONS.includes(path.extname(f)) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => ({ name: f.slice(0, -path.extname(f).length), file: path.join(dir, f) }));
}

/** Applied migrations in order; empty when dbopt.migrations does not exist (creates nothing). */
export async function appliedMigrations(client: Client): Promise<{ name: string; runOn: Date }[]> {
  const { rows } = await client.query<{ exists: boolean }>(
    `SELECT to_regclass($1) IS NOT NULL AS exists`,
    [`${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`],
  );
  if (!rows[0]?.exists) return [];
  const res = await client.query<{ name: string; run_on: Date }>(
    `SELECT name, run_on
       FROM ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}
      ORDER BY run_on, id`,
  );
  return res.rows.map((r) => ({ name: r.name, runOn: r.run_on }));
}

function rel(file: string): string {
  return path.relative(process.cwd(), file) || file;
}

/** Applied files edited or deleted since they ran. */
function checksumProblems(files: MigrationFile[], applied: string[], sums: Map<string, string>): { modified: MigrationFile[]; missing: string[] } {
  const byName = new Map(files.map((f) => [f.name, f]));
  const modified: MigrationFile[] = [];
  const missing: string[] = [];
  for (const name of applied) {
    const f = byName.get(name);
    if (!f) {
      missing.push(name);
      continue;
    }
    const sum = sums.get(name);
    if (sum && sum !== fileChecksum(f.file)) modified.push(f);
  }
  return { modified, missing };
}

function refuseChecksumProblems(p: { modified: MigrationFile[]; missing: string[] }, dir: string): void {
  if (p.modified.length === 0 && p.missing.length === 0) return;
  const details = [
    ...p.modified.map((f) => `${rel(f.file)}: edited after it was applied (its checksum differs from the one recorded in dbopt.migration_checksums)`),
    ...p.missing.map((n) => `${n}: applied, but its file is missing from ${rel(dir)}`),
  ];
  const first = p.modified[0] ? rel(p.modified[0].file) : p.missing[0]!;
  throw new UsageError(`applied migration ${first} was ${p.modified[0] ? 'edited' : 'deleted'}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`, {
    details,
    hint: 'Restore the applied file as it was and put the change in a new migration (dbopt migrate create NAME).',
  });
}

function lintRefusal(findings: LintFinding[], when: string): FindingsError {
  const first = findings[0]!;
  return new FindingsError(`migrate lint found ${findings.length} error${findings.length === 1 ? '' : 's'} ${when}: ${first.file}${first.line ? `:${first.line}` : ''} ${first.code}`, {
    details: findings.map(formatFinding),
    hint: 'Fix the migrations as each line says (dbopt migrate lint shows them), or pass --no-lint to apply anyway.',
  });
}

interface Prepared {
  file: MigrationFile;
  sql?: SqlMigrationFile;
  checksum: string;
}

/** node-pg-migrate loader for .sql files: statements split by the parser; builds run by build.ts. */
function sqlLoader(session: MigrationSession, prepared: Map<string, Prepared>) {
  return async (filePaths: string[]) =>
    filePaths.map((filePath) => {
      const name = path.basename(filePath, '.sql');
      const p = prepared.get(name);
      const action = (direction: 'up' | 'down') => async (pgm: { noTransaction(): void; sql(s: string): void }) => {
        await beginMigration(session, name);
        const parsed = p?.sql;
        const section = direction === 'up' ? parsed?.up : parsed?.down;
        const stmts = section?.statements ?? [];
        const bookkeeping = direction === 'up' ? recordChecksumStep(session.build, name, p!.checksum) : forgetChecksumStep(session.build, name);
        if (!stmts.some(mustRunOutsideTransaction)) {
          // One transaction (node-pg-migrate's BEGIN/COMMIT) holding the statements, the checksum and the record.
          for (const s of stmts) pgm.sql(`${s.text}\n;`);
          pgm.sql(bookkeeping);
          return;
        }
        pgm.noTransaction();
        for (const s of stmts) await runOutsideTransaction(session, s, parsed!);
        // A lost migrate lock or a signal during the last statement: do not record the migration.
        if (session.signal?.aborted) throw session.signal.reason;
        pgm.sql(bookkeeping);
      };
      return { id: filePath, filePaths: [filePath], actions: { up: action('up'), down: p?.sql?.down ? action('down') : false } };
    });
}

/** One statement of a migration that runs outside a transaction (SQL file, or a JS migration's rendered steps). */
async function runOutsideTransaction(session: MigrationSession, stmt: SqlStatement, source: { file: string; text: string }): Promise<void> {
  if (session.signal?.aborted) throw session.signal.reason;
  // Whatever runs from here on stays applied if a later statement fails: no retry from the start.
  if (nodeType(stmt) !== 'VariableSetStmt') session.partial = true;
  if (isConcurrentIndexBuild(stmt)) {
    await buildIndexConcurrently(session, stmt, { file: source.file, fileText: source.text });
    return;
  }
  if (mustRunOutsideTransaction(stmt)) {
    // DROP INDEX / REINDEX CONCURRENTLY wait for older transactions like a build does.
    await useBuildSettings(session);
    try {
      session.lastQuery = stmt.text;
      await session.build.query(stmt.text);
    } finally {
      if (!session.signal?.aborted) await useDdlSettings(session);
    }
    return;
  }
  session.lastQuery = stmt.text;
  await session.build.query(stmt.text);
}

const starts = new WeakMap<MigrationSession, Map<string, number>>();
function markStart(session: MigrationSession, name: string): void {
  const m = starts.get(session) ?? new Map<string, number>();
  m.set(name, performance.now());
  starts.set(session, m);
}

/**
 * Start of a migration's action. node-pg-migrate calls it before its own BEGIN, so the build
 * connection is idle outside a transaction here: reset the SETs an earlier migration left.
 */
async function beginMigration(session: MigrationSession, name: string): Promise<void> {
  if (session.signal?.aborted) throw session.signal.reason;
  session.current = name;
  session.partial = false;
  markStart(session, name);
  await resetSessionSettings(session);
}

interface Builder {
  isUsingTransaction(): boolean;
  getSqlSteps(): string[];
  /** node-pg-migrate's pending steps (a plain field of MigrationBuilder). */
  _steps?: string[];
}

/**
 * A JS/TS migration with pgm.noTransaction(): take the steps it rendered away from
 * node-pg-migrate and run them like a SQL file outside a transaction, so concurrent builds get
 * the build lock budget, healing, the indisvalid check and ANALYZE. node-pg-migrate then only
 * records the migration.
 */
async function runJsOutsideTransaction(session: MigrationSession, pgm: Builder, file: string): Promise<void> {
  if (pgm.isUsingTransaction() || !Array.isArray(pgm._steps)) return;
  const steps = [...pgm.getSqlSteps()];
  pgm._steps = [];
  const display = `${rel(file)} (rendered SQL)`;
  for (const step of steps) {
    for (const stmt of await splitStatements(step, display, 0, step)) await runOutsideTransaction(session, stmt, { file: display, text: step });
  }
  if (session.signal?.aborted) throw session.signal.reason;
}

/** The default loader for JS/TS, wrapped to know which migration runs (for messages and timing). */
function jsLoader(session: MigrationSession, jiti: { import(p: string): Promise<unknown> }) {
  type Action = ((pgm: unknown, done?: () => void) => unknown) | false | undefined;
  const wrap = (name: string, file: string, action: Action): Action => {
    if (typeof action !== 'function') return action;
    return async (pgm: unknown) => {
      await beginMigration(session, name);
      if (action.length === 2) await new Promise<void>((resolve) => void action(pgm, resolve));
      else await action(pgm);
      await runJsOutsideTransaction(session, pgm as Builder, file);
    };
  };
  return async (filePaths: string[]) => {
    const units = [];
    for (const filePath of filePaths) {
      const mod = (await jiti.import(filePath)) as { up?: Action; down?: Action; shorthands?: unknown };
      const name = path.basename(filePath, path.extname(filePath));
      const up = wrap(name, filePath, mod.up);
      units.push({ id: filePath, filePaths: [filePath], actions: { up, down: mod.down === undefined ? undefined : wrap(name, filePath, mod.down), shorthands: mod.shorthands } });
    }
    return units;
  };
}

/** Map the statement that failed back to its file, line and column. */
function describeFailure(err: unknown, session: MigrationSession, prepared: Map<string, Prepared>, target: ConnectionTarget): DbOptError {
  if (err instanceof DbOptError) return err;
  const name = session.current;
  const p = name ? prepared.get(name) : undefined;
  if (isPgError(err)) {
    const stmt = p?.sql && session.lastQuery
      ? [...p.sql.up.statements, ...(p.sql.down?.statements ?? [])].find((s) => `${s.text}\n;` === session.lastQuery || s.text === session.lastQuery)
      : undefined;
    const source = stmt && p?.sql ? { file: err.position ? p.sql.file : `${p.sql.file}:${stmt.line}:1`, text: stmt.text, offsetInFile: stmt.offset, fileText: p.sql.text } : undefined;
    return new FindingsError(`migration ${name ?? '?'} failed: ${err.message}`, {
      details: formatPgError(err, source, target.secrets),
      hint: 'Fix the migration and run dbopt migrate again; the failed migration was not recorded (it ran in a transaction, or dbopt records it only after it succeeds).',
    });
  }
  const msg = err instanceof Error ? err.message : String(err);
  if (/preceding already run migration|have been deleted|Error loading migration/.test(msg)) {
    return new UsageError(msg, { hint: 'Migrations must be applied in file-name order: rename the new file so it sorts after the applied ones.' });
  }
  return new FindingsError(`migration ${name ?? '?'} failed: ${msg}`, { cause: err });
}

/** JS/TS migrations record through node-pg-migrate only; their checksums follow right after. */
async function recordJsChecksums(client: Client, names: string[], prepared: Map<string, Prepared>, direction: 'up' | 'down'): Promise<void> {
  for (const name of names) {
    const p = prepared.get(name);
    if (!p || p.sql) continue;
    if (direction === 'up') await recordChecksum(client, name, p.checksum);
    else await client.query(`DELETE FROM ${CHECKSUMS_TABLE} WHERE name = $1`, [name]);
  }
}

async function prepare(files: MigrationFile[]): Promise<Map<string, Prepared>> {
  const out = new Map<string, Prepared>();
  for (const f of files) {
    out.set(f.name, {
      file: f,
      checksum: fileChecksum(f.file),
      sql: f.file.endsWith('.sql') ? await readSqlMigration(f.file, rel(f.file)) : undefined,
    });
  }
  return out;
}

async function dryRun(opts: MigrateOptions, files: MigrationFile[], prepared: Map<string, Prepared>, settings: MigrateSettings, lintWarnings: LintFinding[]): Promise<MigrateResult> {
  const direction = opts.direction ?? 'up';
  const client = await connect(opts.target);
  try {
    // Read-only: to_regclass checks and SELECTs; no lock, no schema, no table.
    const applied = (await appliedMigrations(client)).map((a) => a.name);
    refuseChecksumProblems(checksumProblems(files, applied, await readChecksums(client)), opts.dir);
    const appliedSet = new Set(applied);
    const pending = files.filter((f) => !appliedSet.has(f.name));
    const chosen = direction === 'up'
      ? pending.slice(0, opts.count ?? Infinity)
      : applied.slice(-(opts.count ?? 1)).reverse().map((n) => files.find((f) => f.name === n)!);
    const ran: MigrationRun[] = [];
    for (const f of chosen) {
      const p = prepared.get(f.name)!;
      let sql: string[];
      if (p.sql) {
        const section = direction === 'up' ? p.sql.up : p.sql.down;
        const stmts = section?.statements ?? [];
        const outside = stmts.some(mustRunOutsideTransaction);
        sql = [];
        if (outside) {
          sql.push(`-- outside a transaction; for each build: SET statement_timeout = 0; SET lock_timeout = '${settings.buildLockTimeoutMs}ms'; SET maintenance_work_mem = '${settings.maintenanceWorkMem}'; SET max_parallel_maintenance_workers = ${settings.parallelWorkers}`);
          sql.push('-- a leftover INVALID index of the same name is dropped concurrently first; the table is analyzed after the build');
        } else {
          sql.push(`-- in one transaction, lock_timeout = '${settings.lockTimeoutMs}ms', retried up to ${settings.lockRetries} times with backoff`);
        }
        sql.push(...stmts.map((s) => `${s.text};`));
      } else {
        const r = await renderJsMigration(f.file);
        const section = direction === 'up' ? r.up : r.down;
        sql = section ? [`-- rendered by node-pg-migrate${section.transaction ? ', in one transaction' : ', outside a transaction; concurrent builds healed, verified and analyzed as in SQL files'}`, ...section.steps] : ['-- (no down migration)'];
      }
      ran.push({ name: f.name, file: f.file, durationMs: 0, sql });
    }
    return { direction, dryRun: true, server: opts.target.display, ran, pendingBefore: pending.length, lintWarnings, lockRetries: 0 };
  } finally {
    await client.end().catch(() => undefined);
  }
}

function withApplicationName(target: ConnectionTarget, name: string): ConnectionTarget {
  return { ...target, config: { ...target.config, application_name: name } };
}

export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const logger = opts.logger ?? silentLogger;
  const direction = opts.direction ?? 'up';
  const settings = settingsOf(opts);
  const files = listMigrationFiles(opts.dir);
  const prepared = await prepare(files);

  // Lint before connecting: a file that cannot run at all (CONCURRENTLY inside a transaction)
  // is refused here; other errors refuse once we know which files are pending.
  let lintFindings: LintFinding[] = [];
  if (direction === 'up' && settings.lint) {
    lintFindings = (await lintFiles(files.map((f) => f.file))).findings;
    const fatal = lintFindings.filter((f) => f.fatal);
    if (fatal.length > 0) throw lintRefusal(fatal, 'before connecting');
  }
  const pendingFindings = (pendingNames: Set<string>): LintFinding[] =>
    lintFindings.filter((f) => pendingNames.has(files.find((x) => rel(x.file) === f.file)?.name ?? ''));

  if (opts.dryRun) {
    const result = await dryRun(opts, files, prepared, settings, []);
    const pendingNames = new Set(result.ran.map((r) => r.name));
    result.lintWarnings = pendingFindings(pendingNames);
    return result;
  }

  // The run stops on SIGINT/SIGTERM (opts.signal) and when the migrate lock is lost.
  const run = new AbortController();
  const forwardSignal = (): void => run.abort(opts.signal!.reason);
  if (opts.signal?.aborted) forwardSignal();
  else opts.signal?.addEventListener('abort', forwardSignal, { once: true });
  const lock = await connect(withApplicationName(opts.target, 'dbopt migrate (lock)'));
  let build: Client | undefined;
  let locked = false;
  let closing = false;
  let watcher: { stop(): Promise<void> } | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await acquireMigrateLock(lock, { waitMs: settings.lockWaitMs, signal: run.signal, logger, database: opts.target.display });
    locked = true;
    // The advisory lock lives as long as this connection: if it breaks (server restart, a
    // proxy or pooler dropping it, pg_terminate_backend), another migrator can start, so this
    // one must stop rather than go on unguarded.
    const running: { session?: MigrationSession } = {};
    const lockLost = (err?: Error): void => {
      if (closing || run.signal.aborted) return;
      run.abort(new ConnectionError(`lost the migrate lock on ${opts.target.display}: its connection ${err ? `failed (${err.message})` : 'was closed'}, so another migrator could start; stopped${running.session?.current ? ` during migration ${running.session.current}, which was not recorded` : ''}`, {
        hint: 'Run dbopt migrate again over a direct or session-pooled connection (not PgBouncer transaction pooling); dbopt migrate status shows what was applied.',
      }));
    };
    lock.on('error', lockLost);
    lock.on('end', () => lockLost());
    build = await connect(withApplicationName(opts.target, 'dbopt migrate'));
    const buildClient = build;
    const { rows } = await build.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const session: MigrationSession = {
      build, buildPid: rows[0]!.pid, lock, settings, logger, signal: run.signal, blockers: new Map(), notes: new Map(),
    };
    running.session = session;
    // Remember what ran last on the build connection, to point errors at a file line; once the
    // run is stopping send nothing more but ROLLBACK (no INSERT into dbopt.migrations, no COMMIT).
    const query = build.query.bind(build) as (...args: unknown[]) => Promise<unknown>;
    (build as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
      const q = args[0];
      if (run.signal.aborted && q !== 'ROLLBACK') return Promise.reject(run.signal.reason as Error);
      if (typeof q === 'string' && !/^(SELECT set_config|RESET |SELECT pg_backend_pid)/.test(q)) session.lastQuery = q;
      return query(...args);
    };
    onAbort = () => {
      // Cancel whatever the build connection runs now; its transaction (if any) rolls back. The
      // lock connection may be the one that broke: then cancel from a connection of its own.
      void lock.query('SELECT pg_cancel_backend($1)', [session.buildPid]).catch(async () => {
        const c = await connect(withApplicationName(opts.target, 'dbopt migrate (cancel)'));
        try {
          await c.query('SELECT pg_cancel_backend($1)', [session.buildPid]);
        } finally {
          await c.end().catch(() => undefined);
        }
      }).catch(() => undefined);
    };
    run.signal.addEventListener('abort', onAbort, { once: true });
    if (run.signal.aborted) throw run.signal.reason;

    await resetSessionSettings(session);
    await build.query(`CREATE SCHEMA IF NOT EXISTS ${MIGRATIONS_SCHEMA}`);
    await ensureChecksumsTable(build);

    const applied = (await appliedMigrations(build)).map((a) => a.name);
    const sums = await readChecksums(build);
    refuseChecksumProblems(checksumProblems(files, applied, sums), opts.dir);
    // Applied before dbopt kept checksums (plain node-pg-migrate): adopt the files as they are.
    for (const name of applied) {
      const p = prepared.get(name);
      if (p && !sums.has(name)) await recordChecksum(build, name, p.checksum);
    }
    const appliedSet = new Set(applied);
    const pending = files.filter((f) => !appliedSet.has(f.name));
    // Lint what this run will apply (--count limits it), not every pending file.
    const pendingNames = new Set((direction === 'up' ? pending.slice(0, opts.count ?? Infinity) : []).map((f) => f.name));
    const lintErrors = pendingFindings(pendingNames).filter((f) => f.severity === 'error');
    if (lintErrors.length > 0) throw lintRefusal(lintErrors, 'in pending migrations');
    const lintWarnings = pendingFindings(pendingNames).filter((f) => f.severity === 'warning');
    for (const w of lintWarnings) logger.warn(formatFinding(w));

    const { runner, jiti } = await import('node-pg-migrate');
    watcher = startWatcher(session);
    const wanted = opts.count ?? (direction === 'up' ? Infinity : 1);
    const done: string[] = [];
    let retries = 0;
    let attempt = 0;
    const started = performance.now();
    const ends = new Map<string, number>();
    for (;;) {
      const before = new Set((await appliedMigrations(build)).map((a) => a.name));
      try {
        await runner({
          dbClient: buildClient,
          dir: opts.dir,
          direction,
          count: wanted - done.length,
          migrationsSchema: MIGRATIONS_SCHEMA,
          migrationsTable: MIGRATIONS_TABLE,
          createMigrationsSchema: true,
          noLock: true,
          singleTransaction: false,
          checkOrder: true,
          // Only migration files: a README or notes file in the directory is not a migration.
          ignorePattern: '(\\..*|.*\\.d\\.ts|(?!.*\\.(sql|js|cjs|mjs|ts)$).*)',
          migrationLoaderStrategies: [
            { extensions: ['.sql'], loader: sqlLoader(session, prepared) },
            { extensions: ['.js', '.cjs', '.mjs', '.ts', '.cts', '.mts'], loader: jsLoader(session, jiti) },
          ],
          logger: { info: (m: string) => logger.debug(m), warn: (m: string) => logger.debug(m), error: (m: string) => logger.debug(m), debug: (m: string) => logger.debug(m) },
        } as Parameters<typeof runner>[0]);
      } catch (err) {
        // node-pg-migrate leaves a failed transaction open on a client it does not own.
        await buildClient.query('ROLLBACK').catch(() => undefined);
        if (run.signal.aborted) throw run.signal.reason;
        const after = (await appliedMigrations(buildClient)).map((a) => a.name);
        const progressed = direction === 'up' ? after.filter((n) => !before.has(n)) : [...before].filter((n) => !after.includes(n));
        done.push(...progressed);
        for (const n of progressed) ends.set(n, performance.now());
        await recordJsChecksums(buildClient, progressed, prepared, direction);
        if (progressed.length > 0) session.blockers.clear();
        if (isPgError(err) && err.code === '55P03' && session.partial) {
          // Outside a transaction the statements before this one stayed applied: running the
          // migration again from the start could repeat them (or let IF NOT EXISTS skip a half-done one).
          throw new FindingsError(`migration ${session.current ?? '?'} could not take its lock within lock_timeout after some of its statements had run outside a transaction; not retried`, {
            details: [...formatPgError(err, undefined, opts.target.secrets), ...describeBlockers(session.blockers.values()).map((b) => `blocked by ${b}`)],
            hint: 'Check which of its statements took effect, end the blocking transactions, then run dbopt migrate again; the migration was not recorded.',
          });
        }
        if (isPgError(err) && err.code === '55P03') {
          if (progressed.length > 0) attempt = 0;
          if (attempt >= settings.lockRetries) {
            const blockers = describeBlockers(session.blockers.values());
            throw new FindingsError(`migration ${session.current ?? '?'} could not take its lock within lock_timeout ${settings.lockTimeoutMs}ms, ${attempt + 1} tries${blockers.length ? `: blocked by pid ${[...session.blockers.keys()].join(', pid ')}` : ''}`, {
              details: [...formatPgError(err, undefined, opts.target.secrets), ...(blockers.length ? ['blocking sessions:', ...blockers.map((b) => `  ${b}`)] : [])],
              hint: 'End or wait out the blocking transactions (SELECT pg_terminate_backend(pid) if they are stuck), then run dbopt migrate again; nothing of this migration was applied.',
            });
          }
          const delay = backoffDelay(attempt);
          attempt++;
          retries++;
          const who = session.blockers.size ? `; blocked by pid ${[...session.blockers.keys()].join(', pid ')}` : '';
          logger.warn(`${session.current ?? 'migration'}: lock_timeout (${settings.lockTimeoutMs}ms) reached${who}; rolled back, try ${attempt + 1} of ${settings.lockRetries + 1} in ${delay} ms`);
          await sleep(delay, run.signal);
          continue;
        }
        throw describeFailure(err, session, prepared, opts.target);
      }
      const after = (await appliedMigrations(buildClient)).map((a) => a.name);
      const progressed = direction === 'up' ? after.filter((n) => !before.has(n)) : [...before].filter((n) => !after.includes(n)).reverse();
      done.push(...progressed);
      for (const n of progressed) ends.set(n, performance.now());
      await recordJsChecksums(buildClient, progressed, prepared, direction);
      break;
    }
    // Everything is applied and recorded: losing the lock connection now stops nothing.
    closing = true;
    const startTimes = starts.get(session) ?? new Map<string, number>();
    // A migration ends when the next one starts (node-pg-migrate runs its steps in between).
    const ordered = done.map((name) => ({ name, start: startTimes.get(name) ?? started }));
    const ran: MigrationRun[] = ordered.map((m, i) => {
      const end = ordered[i + 1]?.start ?? ends.get(m.name) ?? performance.now();
      return { name: m.name, file: prepared.get(m.name)?.file.file ?? m.name, durationMs: Math.max(0, Math.round(end - m.start)), notes: session.notes.get(m.name) };
    });
    return { direction, dryRun: false, server: opts.target.display, ran, pendingBefore: pending.length, lintWarnings, lockRetries: retries };
  } finally {
    closing = true;
    opts.signal?.removeEventListener('abort', forwardSignal);
    if (onAbort) run.signal.removeEventListener('abort', onAbort);
    await watcher?.stop();
    logger.progressDone?.();
    if (build) {
      await build.query('ROLLBACK').catch(() => undefined);
      await build.end().catch(() => undefined);
    }
    if (locked) await releaseMigrateLock(lock).catch(() => undefined);
    await lock.end().catch(() => undefined);
  }
}

export async function migrationStatus(opts: { target: ConnectionTarget; dir: string }): Promise<StatusResult> {
  const files = listMigrationFiles(opts.dir);
  const client = await connect(opts.target);
  try {
    const applied = await appliedMigrations(client);
    const sums = await readChecksums(client);
    const byName = new Map(applied.map((a) => [a.name, a]));
    const out: MigrationStatus[] = files.map((f) => {
      const a = byName.get(f.name);
      const sum = sums.get(f.name);
      const state = !a ? 'pending' : sum && sum !== fileChecksum(f.file) ? 'modified' : 'applied';
      return { name: f.name, file: f.file, state, appliedAt: a?.runOn.toISOString() };
    });
    for (const a of applied) {
      if (!files.some((f) => f.name === a.name)) out.push({ name: a.name, state: 'missing', appliedAt: a.runOn.toISOString() });
    }
    return { server: opts.target.display, migrations: out };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function createMigration(dir: string, name: string): string {
  if (!/^[a-z0-9_]+$/i.test(name)) throw new UsageError(`migration name must be letters, digits and underscores, got ${JSON.stringify(name)}`, { hint: 'Use a name like add_users_email_index.' });
  mkdirSync(dir, { recursive: true });
  const existing = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+_/.test(f)) : [];
  const next = existing.reduce((max, f) => Math.max(max, Number(/^(\d+)_/.exec(f)?.[1] ?? 0)), 0) + 1;
  const file = path.join(dir, `${String(next).padStart(4, '0')}_${name}.sql`);
  writeFileSync(file, `-- Up Migration\n-- One change per file. An index on an existing table: CREATE INDEX CONCURRENTLY, alone in\n-- this file (dbopt runs it outside a transaction, heals and verifies it).\n\n\n-- Down Migration\n`, { flag: 'wx' });
  return file;
}

export { lintFiles, lintFile, lintSql, RULES, formatFinding } from './lint/index.js';
export type { LintFinding, LintResult, LintFileResult } from './lint/index.js';
