// dbopt migrate [up|down|status|create|lint]: flags -> library -> report.
import path from 'node:path';
import {
  createMigration,
  migrate,
  migrateReport,
  migrationStatus,
  migrationStatusReport,
} from '../../migrate/index.js';
import {
  commandContext,
  emit,
  intOption,
  withDb,
  withSessionDb,
  type DbContext,
  type GlobalOptions,
} from '../context.js';

export async function runMigrateCommand(
  sub: 'up' | 'down' | 'status' | 'create' | 'lint',
  opts: GlobalOptions,
  args: string[],
): Promise<void> {
  const overrides = { 'migrate.dir': opts.dir };
  if (sub === 'create') {
    const ctx = await commandContext(opts, overrides);
    const file = createMigration(ctx.resolvePath(ctx.config.migrate.dir), args[0] ?? '');
    process.stdout.write(`Created ${path.relative(process.cwd(), file)}\n`);
    return;
  }
  if (sub === 'lint') {
    const { runLintCommand } = await import('./lint.js');
    await runLintCommand(opts, args);
    return;
  }
  const count = intOption(opts.count, '--count');
  const work = async (ctx: DbContext): Promise<number> => {
    const dir = ctx.resolvePath(ctx.config.migrate.dir);
    if (sub === 'status') return emit(migrationStatusReport(await migrationStatus({ target: ctx.target, dir })), opts);
    const m = ctx.config.migrate;
    const result = await migrate({
      target: ctx.target,
      dir,
      direction: sub,
      count,
      dryRun: Boolean(opts.dryRun),
      logger: ctx.logger,
      signal: ctx.signal,
      lockTimeoutMs: m.lockTimeoutMs,
      lockRetries: m.lockRetries,
      lockWaitMs: m.lockWaitMs,
      buildLockTimeoutMs: m.buildLockTimeoutMs,
      maintenanceWorkMem: m.maintenanceWorkMem,
      parallelWorkers: m.parallelWorkers,
      // --no-lint sets lint to false; the config key can turn it off for good.
      lint: opts.lint === false ? false : m.lint,
      lintRules: m.lintRules,
      lintSmallTable: m.lintSmallTable,
    });
    return emit(migrateReport(result), opts);
  };
  // status only reads; up and down are session work (the migration lock, concurrent builds).
  const code =
    sub === 'status' ? await withDb(opts, overrides, work) : await withSessionDb(opts, overrides, 'migrate', work);
  process.exitCode = code;
}
