// The migrations directory and what the database says about it: which files are migrations,
// which are applied (dbopt.migrations, node-pg-migrate's table), which applied files were
// edited or deleted since (checksums), and each file read once before a run.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Client } from 'pg';
import { UsageError } from '../errors.js';
import { fileChecksum } from './checksums.js';
import { readSqlMigration, type SqlMigrationFile } from './sqlFile.js';

export const MIGRATIONS_SCHEMA = 'dbopt';
export const MIGRATIONS_TABLE = 'migrations';
const MIGRATION_EXTENSIONS = ['.sql', '.js', '.cjs', '.mjs', '.ts'];

export interface MigrationFile {
  /** Name as recorded in dbopt.migrations: the file name without extension. */
  name: string;
  file: string;
}

export function listMigrationFiles(dir: string): MigrationFile[] {
  if (!existsSync(dir)) {
    throw new UsageError(`migrations directory not found: ${dir}`, {
      hint: 'Create it, or set migrate.dir in dbopt.config.json / pass --dir.',
    });
  }
  return readdirSync(dir)
    .filter((f) => !f.startsWith('.') && MIGRATION_EXTENSIONS.includes(path.extname(f)) && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => ({ name: f.slice(0, -path.extname(f).length), file: path.join(dir, f) }));
}

/** Applied migrations in order; empty when dbopt.migrations does not exist (creates nothing). */
export async function appliedMigrations(client: Client): Promise<{ name: string; runOn: Date }[]> {
  const { rows } = await client.query<{ exists: boolean }>(`SELECT to_regclass($1) IS NOT NULL AS exists`, [
    `${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}`,
  ]);
  if (!rows[0]?.exists) return [];
  const res = await client.query<{ name: string; run_on: Date }>(
    `SELECT name, run_on
       FROM ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}
      ORDER BY run_on, id`,
  );
  return res.rows.map((r) => ({ name: r.name, runOn: r.run_on }));
}

const APPLIED_SQL = `SELECT name FROM ${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE} ORDER BY run_on, id`;
const PRIMARY_KEY_SQL = `SELECT conname
       FROM pg_constraint
      WHERE conrelid = '${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}'::regclass
        AND contype = 'p'`;

export function isUndefinedTable(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === '42P01';
}

/**
 * Applied names in order, read in one round trip where the table exists (every run after the
 * first); empty when it does not. Only outside a transaction: the miss is an error.
 */
export async function appliedNamesOutsideTransaction(client: Client): Promise<string[]> {
  try {
    return (await client.query<{ name: string }>(APPLIED_SQL)).rows.map((r) => r.name);
  } catch (err) {
    if (isUndefinedTable(err)) return [];
    throw err;
  }
}

/** What the run reads of its bookkeeping tables before it plans. */
export interface Bookkeeping {
  applied: string[];
  sums: Map<string, string>;
  /** dbopt.migrations has its primary key (node-pg-migrate's runner would otherwise ask information_schema). */
  keyed: boolean;
}

/**
 * The applied names, the checksums and whether dbopt.migrations has its primary key, as three
 * statements for one round trip; they fail with 42P01 when either table does not exist.
 */
export function bookkeepingSql(checksumsTable: string): string {
  return `${APPLIED_SQL}; SELECT name, sha256 FROM ${checksumsTable}; ${PRIMARY_KEY_SQL}`;
}

/** The results of the three statements of bookkeepingSql(), in order. */
export function bookkeepingOf(results: { rows: Record<string, string>[] }[]): Bookkeeping {
  return {
    applied: results[0]!.rows.map((r) => r.name!),
    sums: new Map(results[1]!.rows.map((r) => [r.name!, r.sha256!])),
    keyed: results[2]!.rows.length === 1,
  };
}

/**
 * The bookkeeping in one round trip, when both tables exist; undefined when either does not
 * (then the first run creates them). Only outside a transaction.
 */
export async function readBookkeeping(client: Client, checksumsTable: string): Promise<Bookkeeping | undefined> {
  try {
    const res = (await client.query(bookkeepingSql(checksumsTable))) as unknown as {
      rows: Record<string, string>[];
    }[];
    return bookkeepingOf(res);
  } catch (err) {
    if (isUndefinedTable(err)) return undefined;
    throw err;
  }
}

/** A path relative to the working directory, for messages. */
export function rel(file: string): string {
  return path.relative(process.cwd(), file) || file;
}

/** Applied files edited or deleted since they ran. */
export function checksumProblems(
  files: MigrationFile[],
  applied: string[],
  sums: Map<string, string>,
): { modified: MigrationFile[]; missing: string[] } {
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

export function refuseChecksumProblems(p: { modified: MigrationFile[]; missing: string[] }, dir: string): void {
  if (p.modified.length === 0 && p.missing.length === 0) return;
  const details = [
    ...p.modified.map(
      (f) =>
        `${rel(f.file)}: edited after it was applied ` +
        '(its checksum differs from the one recorded in dbopt.migration_checksums)',
    ),
    ...p.missing.map((n) => `${n}: applied, but its file is missing from ${rel(dir)}`),
  ];
  const first = p.modified[0] ? rel(p.modified[0].file) : p.missing[0]!;
  const more = details.length > 1 ? ` (and ${details.length - 1} more)` : '';
  throw new UsageError(`applied migration ${first} was ${p.modified[0] ? 'edited' : 'deleted'}${more}`, {
    details,
    hint: 'Restore the applied file as it was and put the change in a new migration (dbopt migrate create NAME).',
  });
}

/** A migration file read once before a run: its parsed SQL sections and its checksum. */
export interface Prepared {
  file: MigrationFile;
  sql?: SqlMigrationFile;
  checksum: string;
}

export async function prepare(files: MigrationFile[]): Promise<Map<string, Prepared>> {
  const out = new Map<string, Prepared>();
  for (const f of files) {
    // Parsing is CPU-bound: let the connections that open meanwhile take their turns.
    await new Promise((resolve) => setImmediate(resolve));
    out.set(f.name, {
      file: f,
      checksum: fileChecksum(f.file),
      sql: f.file.endsWith('.sql') ? await readSqlMigration(f.file, rel(f.file)) : undefined,
    });
  }
  return out;
}
