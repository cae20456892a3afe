// dbopt migrate: node-pg-migrate's programmatic runner on a connection dbopt owns, with
// dbopt's own advisory lock (held by that same connection), checksums of applied files, lint
// before applying, safe concurrent index builds (build.ts), and lock_timeout retries with
// backoff for other DDL. Bookkeeping lives in the dbopt schema: dbopt.migrations (node-pg-
// migrate's table) and dbopt.migration_checksums.
// This file holds the public shapes; the work is in run.ts (migrate), dryRun.ts, status.ts,
// create.ts, files.ts (the directory and its checksums), loaders.ts and build.ts.
import type { ConnectionTarget } from '../db/connection.js';
import type { Logger } from '../logger.js';
import type { LintFinding } from './lint/index.js';
import type { MigrateSettings } from './session.js';

export type { MigrateSettings } from './session.js';
export type { MigrationFile } from './files.js';
export { MIGRATIONS_SCHEMA, MIGRATIONS_TABLE, appliedMigrations, listMigrationFiles } from './files.js';
export { defaultMigrateSettings } from './session.js';
export { migrate } from './run.js';
export { migrationStatus } from './status.js';
export { createMigration } from './create.js';
export { migrateReport, migrationStatusReport } from './report.js';

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

export { lintFiles, lintFile, lintSql, lintReport, RULES, formatFinding } from './lint/index.js';
export type { LintFinding, LintResult, LintFileResult } from './lint/index.js';
