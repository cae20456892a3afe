// dbopt migrate [up|down|status|create|lint]: flags -> library -> report.
import path from 'node:path';
import { migrate, migrationStatus, createMigration, type MigrateResult, type StatusResult } from '../../migrate/index.js';
import { formatDuration } from '../../duration.js';
import type { Report, ReportCheck } from '../../report.js';
import { commandContext, emit, intOption, withDb, type GlobalOptions } from '../context.js';

function rel(p: string | undefined): string {
  return p ? path.relative(process.cwd(), p) : '';
}

export function migrateReport(r: MigrateResult): Report {
  const verb = r.dryRun ? 'would run' : r.direction === 'up' ? 'applied' : 'reverted';
  const checks: ReportCheck[] = r.lintWarnings.map((w) => ({
    id: `${w.file}${w.line ? `:${w.line}` : ''}/${w.code}`,
    subject: w.file,
    code: w.code,
    status: 'warn',
    message: `${w.message} Fix: ${w.fix}`,
    file: w.file,
    line: w.line,
    column: w.column,
  }));
  if (!r.dryRun) {
    for (const m of r.ran) checks.push({ id: `${m.name}/${r.direction}`, subject: m.name, code: r.direction === 'up' ? 'applied' : 'reverted', status: 'pass', message: (m.notes ?? []).join('; ') || verb, file: rel(m.file), durationMs: m.durationMs });
  }
  return {
    command: 'migrate',
    title: `dbopt migrate ${r.direction}${r.dryRun ? ' (dry run: no lock taken, nothing changed)' : ''}`,
    server: r.server,
    ok: true,
    summary: r.ran.length === 0
      ? 'Nothing to migrate: the database is up to date.'
      : `${r.ran.length} migration${r.ran.length === 1 ? '' : 's'} ${verb}${r.lockRetries ? ` (${r.lockRetries} lock_timeout retr${r.lockRetries === 1 ? 'y' : 'ies'})` : ''}`,
    sections: r.dryRun
      ? r.ran.map((m) => ({ title: `${m.name} (${rel(m.file)})`, lines: (m.sql ?? []).map((text) => ({ text, tone: text.startsWith('--') ? 'dim' as const : undefined })) }))
      : [{
          title: 'Migrations',
          columns: ['migration', 'time', 'notes'],
          rows: r.ran.map((m) => [m.name, formatDuration(m.durationMs), (m.notes ?? []).join('; ')]),
          empty: 'nothing pending',
        }],
    checks,
    data: r,
  };
}

export function statusReport(r: StatusResult): Report {
  const count = (s: string): number => r.migrations.filter((m) => m.state === s).length;
  const [applied, pending, modified, missing] = [count('applied'), count('pending'), count('modified'), count('missing')];
  return {
    command: 'migrate',
    title: 'dbopt migrate status',
    server: r.server,
    ok: modified === 0 && missing === 0,
    summary: `${applied} applied, ${pending} pending${modified ? `, ${modified} edited after being applied` : ''}${missing ? `, ${missing} applied but missing from disk` : ''}`,
    sections: [{
      title: 'Migrations',
      columns: ['migration', 'state', 'applied at'],
      rows: r.migrations.map((m) => [m.name, { text: m.state, tone: m.state === 'applied' ? 'ok' : m.state === 'pending' ? 'warn' : 'bad' }, m.appliedAt ?? '']),
    }],
    checks: r.migrations
      .filter((m) => m.state === 'modified' || m.state === 'missing')
      .map((m) => ({
        id: `${m.name}/${m.state}`,
        subject: m.name,
        code: `migration-${m.state}`,
        status: 'fail' as const,
        message: m.state === 'modified' ? 'edited after it was applied: restore it and put the change in a new migration' : 'applied, but its file is missing: restore it',
        file: m.file ? rel(m.file) : undefined,
      })),
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
    });
    return emit(migrateReport(result), opts);
  });
  process.exitCode = code;
}
