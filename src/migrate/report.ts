// Turns migrate's results into the shared Report every renderer reads: migrate up/down (and
// --dry-run: the SQL each migration would run) and migrate status.
import path from 'node:path';
import { formatDuration } from '../duration.js';
import type { Report, ReportCheck } from '../report.js';
import type { MigrateResult, StatusResult } from './index.js';

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
    for (const m of r.ran)
      checks.push({
        id: `${m.name}/${r.direction}`,
        subject: m.name,
        code: r.direction === 'up' ? 'applied' : 'reverted',
        status: 'pass',
        message: (m.notes ?? []).join('; ') || verb,
        file: rel(m.file),
        durationMs: m.durationMs,
      });
  }
  return {
    command: 'migrate',
    title: `dbopt migrate ${r.direction}${r.dryRun ? ' (dry run: no lock taken, nothing changed)' : ''}`,
    server: r.server,
    ok: true,
    summary:
      r.ran.length === 0
        ? 'Nothing to migrate: the database is up to date.'
        : `${r.ran.length} migration${r.ran.length === 1 ? '' : 's'} ${verb}${r.lockRetries ? ` (${r.lockRetries} lock_timeout retr${r.lockRetries === 1 ? 'y' : 'ies'})` : ''}`,
    sections: r.dryRun
      ? r.ran.map((m) => ({
          title: `${m.name} (${rel(m.file)})`,
          lines: (m.sql ?? []).map((text) => ({ text, tone: text.startsWith('--') ? ('dim' as const) : undefined })),
        }))
      : [
          {
            title: 'Migrations',
            columns: ['migration', 'time', 'notes'],
            rows: r.ran.map((m) => [m.name, formatDuration(m.durationMs), (m.notes ?? []).join('; ')]),
            empty: 'nothing pending',
          },
        ],
    checks,
    data: r,
  };
}

export function migrationStatusReport(r: StatusResult): Report {
  const count = (s: string): number => r.migrations.filter((m) => m.state === s).length;
  const [applied, pending, modified, missing] = [
    count('applied'),
    count('pending'),
    count('modified'),
    count('missing'),
  ];
  return {
    command: 'migrate',
    title: 'dbopt migrate status',
    server: r.server,
    ok: modified === 0 && missing === 0,
    summary: `${applied} applied, ${pending} pending${modified ? `, ${modified} edited after being applied` : ''}${missing ? `, ${missing} applied but missing from disk` : ''}`,
    sections: [
      {
        title: 'Migrations',
        columns: ['migration', 'state', 'applied at'],
        rows: r.migrations.map((m) => [
          m.name,
          { text: m.state, tone: m.state === 'applied' ? 'ok' : m.state === 'pending' ? 'warn' : 'bad' },
          m.appliedAt ?? '',
        ]),
      },
    ],
    checks: r.migrations
      .filter((m) => m.state === 'modified' || m.state === 'missing')
      .map((m) => ({
        id: `${m.name}/${m.state}`,
        subject: m.name,
        code: `migration-${m.state}`,
        status: 'fail' as const,
        message:
          m.state === 'modified'
            ? 'edited after it was applied: restore it and put the change in a new migration'
            : 'applied, but its file is missing: restore it',
        file: m.file ? rel(m.file) : undefined,
      })),
    data: r,
  };
}
