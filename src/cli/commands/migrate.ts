// dbopt migrate [up|down|status|create|lint]: flags -> library -> report.
import path from 'node:path';
import { migrate, migrationStatus, createMigration, type MigrateResult, type StatusResult } from '../../migrate/index.js';
import { formatDuration } from '../../duration.js';
import type { Report } from '../../report.js';
import { commandContext, emit, intOption, withDb, type GlobalOptions } from '../context.js';

function rel(p: string | undefined): string {
  return p ? path.relative(process.cwd(), p) : '';
}

export function migrateReport(r: MigrateResult): Report {
  const verb = r.dryRun ? 'would run' : r.direction === 'up' ? 'applied' : 'reverted';
  return {
    command: 'migrate',
    title: `dbopt migrate ${r.direction}${r.dryRun ? ' (dry run)' : ''}`,
    server: r.server,
    ok: true,
    summary: r.ran.length === 0 ? 'Nothing to migrate: the database is up to date.' : `${r.ran.length} migration${r.ran.length === 1 ? '' : 's'} ${verb}`,
    sections: r.dryRun
      ? r.ran.map((m) => ({ title: `${m.name} (${rel(m.file)})`, lines: (m.sql ?? []).map((text) => ({ text })) }))
      : [{ title: 'Migrations', columns: ['migration', 'time'], rows: r.ran.map((m) => [m.name, formatDuration(m.durationMs)]), empty: 'nothing pending' }],
    checks: [],
    data: r,
  };
}

export function statusReport(r: StatusResult): Report {
  const pending = r.migrations.filter((m) => m.state === 'pending').length;
  const missing = r.migrations.filter((m) => m.state === 'missing').length;
  return {
    command: 'migrate',
    title: 'dbopt migrate status',
    server: r.server,
    ok: missing === 0,
    summary: `${r.migrations.length - pending - missing} applied, ${pending} pending${missing ? `, ${missing} applied but missing from disk` : ''}`,
    sections: [{
      title: 'Migrations',
      columns: ['migration', 'state', 'applied at'],
      rows: r.migrations.map((m) => [m.name, { text: m.state, tone: m.state === 'applied' ? 'ok' : m.state === 'pending' ? 'warn' : 'bad' }, m.appliedAt ?? '']),
    }],
    checks: [],
    data: r,
  };
}

export async function runMigrateCommand(sub: 'up' | 'down' | 'status' | 'create' | 'lint', opts: GlobalOptions, args: string[]): Promise<void> {
  const overrides = { 'migrate.dir': opts.dir };
  if (sub === 'create') {
    const ctx = await commandContext(opts, overrides);
    const file = createMigration(ctx.resolvePath(ctx.config.migrate.dir), args[0] ?? '');
    process.stdout.write(`Created ${rel(file)}\n`);
    return;
  }
  if (sub === 'lint') {
    const { runLintCommand } = await import('./lint.js');
    await runLintCommand(opts, args);
    return;
  }
  const count = intOption(opts.count, '--count');
  const code = await withDb(opts, overrides, async (ctx) => {
    const dir = ctx.resolvePath(ctx.config.migrate.dir);
    if (sub === 'status') return emit(statusReport(await migrationStatus({ target: ctx.target, dir })), opts);
    const result = await migrate({ target: ctx.target, dir, direction: sub, count, dryRun: Boolean(opts.dryRun), logger: ctx.logger, signal: ctx.signal });
    return emit(migrateReport(result), opts);
  });
  process.exitCode = code;
}
