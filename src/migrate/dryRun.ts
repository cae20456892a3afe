// dbopt migrate --dry-run: what would run, read-only (to_regclass checks and SELECTs; no lock,
// no schema, no table): the SQL of each pending (or, down, each last applied) migration and
// how dbopt would run it.
import type { MigrateOptions, MigrateResult, MigrationRun } from './index.js';
import { connect } from '../db/connection.js';
import { mustRunOutsideTransaction } from '../sql/parse.js';
import { readChecksums } from './checksums.js';
import {
  appliedMigrations,
  checksumProblems,
  refuseChecksumProblems,
  type MigrationFile,
  type Prepared,
} from './files.js';
import { jsMigrationSql } from './jsMigrationSql.js';
import type { MigrateSettings } from './session.js';
import type { LintFinding } from './lint/index.js';

export async function dryRun(
  opts: MigrateOptions,
  files: MigrationFile[],
  prepared: Map<string, Prepared>,
  settings: MigrateSettings,
  lintWarnings: LintFinding[],
): Promise<MigrateResult> {
  const direction = opts.direction ?? 'up';
  const client = await connect(opts.target);
  try {
    // Read-only: to_regclass checks and SELECTs; no lock, no schema, no table.
    const applied = (await appliedMigrations(client)).map((a) => a.name);
    refuseChecksumProblems(checksumProblems(files, applied, await readChecksums(client)), opts.dir);
    const appliedSet = new Set(applied);
    const pending = files.filter((f) => !appliedSet.has(f.name));
    const chosen =
      direction === 'up'
        ? pending.slice(0, opts.count ?? Infinity)
        : applied
            .slice(-(opts.count ?? 1))
            .reverse()
            .map((n) => files.find((f) => f.name === n)!);
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
          sql.push(
            `-- outside a transaction; for each build: SET statement_timeout = 0; SET lock_timeout = '${settings.buildLockTimeoutMs}ms'; SET maintenance_work_mem = '${settings.maintenanceWorkMem}'; SET max_parallel_maintenance_workers = ${settings.parallelWorkers}`,
          );
          sql.push(
            '-- a leftover INVALID index of the same name is dropped concurrently first; the table is analyzed after the build',
          );
        } else {
          sql.push(
            `-- in one transaction, lock_timeout = '${settings.lockTimeoutMs}ms', retried up to ${settings.lockRetries} times with backoff`,
          );
        }
        sql.push(...stmts.map((s) => `${s.text};`));
      } else {
        const r = await jsMigrationSql(f.file);
        const section = direction === 'up' ? r.up : r.down;
        sql = section
          ? [
              `-- rendered by node-pg-migrate${section.transaction ? ', in one transaction' : ', outside a transaction; concurrent builds healed, verified and analyzed as in SQL files'}`,
              ...section.steps,
            ]
          : ['-- (no down migration)'];
      }
      ran.push({ name: f.name, file: f.file, durationMs: 0, sql });
    }
    return {
      direction,
      dryRun: true,
      server: opts.target.display,
      ran,
      pendingBefore: pending.length,
      lintWarnings,
      lockRetries: 0,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
