// dbopt migrate: node-pg-migrate's programmatic runner, fed by dbopt's own SQL loader (which
// splits files with the PostgreSQL parser and runs a file holding CONCURRENTLY outside a
// transaction). Bookkeeping lives in the dbopt schema: dbopt.migrations.
import { readdirSync, existsSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';
import { connect, type ConnectionTarget } from '../db/connection.js';
import { UsageError, FindingsError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { readSqlMigration, mustRunOutsideTransaction } from './sqlFile.js';
import { isPgError, formatPgError } from '../db/pgerror.js';

export const MIGRATIONS_SCHEMA = 'dbopt';
export const MIGRATIONS_TABLE = 'migrations';
const MIGRATION_EXTENSIONS = ['.sql', '.js', '.cjs', '.mjs', '.ts'];

export interface MigrationFile {
  /** Name as recorded in dbopt.migrations: the file name without extension. */
  name: string;
  file: string;
}

export interface MigrateOptions {
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
  /** SQL that ran (dry-run: would run). */
  sql?: string[];
}

export interface MigrateResult {
  direction: 'up' | 'down';
  dryRun: boolean;
  server: string;
  ran: MigrationRun[];
  pendingBefore: number;
}

export interface MigrationStatus {
  name: string;
  file?: string;
  state: 'applied' | 'pending' | 'missing';
  appliedAt?: string;
}

export interface StatusResult {
  server: string;
  migrations: MigrationStatus[];
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

/** node-pg-migrate loader for .sql files: statements split by the parser, CONCURRENTLY outside a transaction. */
async function sqlLoader(filePaths: string[]) {
  const units = [];
  for (const filePath of filePaths) {
    const parsed = await readSqlMigration(filePath, path.relative(process.cwd(), filePath));
    const action = (section: typeof parsed.up) => (pgm: { noTransaction(): void; sql(s: string): void }) => {
      if (section.statements.some(mustRunOutsideTransaction)) pgm.noTransaction();
      for (const stmt of section.statements) pgm.sql(stmt.text);
    };
    units.push({
      id: filePath,
      filePaths: [filePath],
      actions: { up: action(parsed.up), down: parsed.down ? action(parsed.down) : false },
    });
  }
  return units;
}

export async function migrate(opts: MigrateOptions): Promise<MigrateResult> {
  const logger = opts.logger ?? silentLogger;
  const direction = opts.direction ?? 'up';
  const files = listMigrationFiles(opts.dir);
  const client = await connect(opts.target);
  try {
    const applied = new Set((await appliedMigrations(client)).map((m) => m.name));
    const pending = files.filter((f) => !applied.has(f.name));
    if (opts.dryRun) {
      const ran: MigrationRun[] = [];
      const chosen = direction === 'up'
        ? pending.slice(0, opts.count ?? Infinity)
        : files.filter((f) => applied.has(f.name)).reverse().slice(0, opts.count ?? 1);
      for (const f of chosen) {
        if (!f.file.endsWith('.sql')) {
          ran.push({ name: f.name, file: f.file, durationMs: 0, sql: ['-- (JS/TS migration: rendered when run)'] });
          continue;
        }
        const parsed = await readSqlMigration(f.file, path.relative(process.cwd(), f.file));
        const section = direction === 'up' ? parsed.up : parsed.down;
        ran.push({ name: f.name, file: f.file, durationMs: 0, sql: section?.statements.map((s) => s.text + ';') ?? [] });
      }
      return { direction, dryRun: true, server: opts.target.display, ran, pendingBefore: pending.length };
    }
    const { runner } = await import('node-pg-migrate');
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${MIGRATIONS_SCHEMA}`);
    const started = Date.now();
    let runs: { name: string; path: string }[];
    try {
      runs = await runner({
        dbClient: client,
        dir: opts.dir,
        direction,
        count: opts.count ?? (direction === 'up' ? Infinity : 1),
        migrationsSchema: MIGRATIONS_SCHEMA,
        migrationsTable: MIGRATIONS_TABLE,
        createMigrationsSchema: true,
        singleTransaction: false,
        checkOrder: true,
        ignorePattern: '(\\..*|.*\\.d\\.ts)',
        migrationLoaderStrategies: [{ extensions: ['.sql'], loader: sqlLoader }],
        logger: { info: (m: string) => logger.debug(m), warn: (m: string) => logger.warn(m), error: (m: string) => logger.debug(m), debug: (m: string) => logger.debug(m) },
      } as Parameters<typeof runner>[0]);
    } catch (err) {
      if (isPgError(err)) {
        throw new FindingsError(`migration failed: ${err.message}`, { details: formatPgError(err, undefined, opts.target.secrets), hint: 'Fix the migration and run dbopt migrate again; the failed migration was not recorded.' });
      }
      throw err;
    }
    const elapsed = Date.now() - started;
    return {
      direction,
      dryRun: false,
      server: opts.target.display,
      ran: runs.map((r) => ({ name: r.name, file: r.path, durationMs: Math.round(elapsed / Math.max(1, runs.length)) })),
      pendingBefore: pending.length,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function migrationStatus(opts: { target: ConnectionTarget; dir: string }): Promise<StatusResult> {
  const files = listMigrationFiles(opts.dir);
  const client = await connect(opts.target);
  try {
    const applied = await appliedMigrations(client);
    const byName = new Map(applied.map((a) => [a.name, a]));
    const out: MigrationStatus[] = files.map((f) => {
      const a = byName.get(f.name);
      return { name: f.name, file: f.file, state: a ? 'applied' : 'pending', appliedAt: a?.runOn.toISOString() };
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
  writeFileSync(file, `-- Up Migration\n\n\n-- Down Migration\n`, { flag: 'wx' });
  return file;
}
