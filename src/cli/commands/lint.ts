// dbopt migrate lint [files...]: flags -> lintFiles (no connection) -> report; exit 1 on errors.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { listMigrationFiles } from '../../migrate/index.js';
import { lintFiles, type LintResult } from '../../migrate/lint/index.js';
import type { Report, ReportCheck } from '../../report.js';
import { commandContext, emit, type GlobalOptions } from '../context.js';

const DOCS = 'docs/migrate.md';

export function lintReport(r: LintResult): Report {
  const checks: ReportCheck[] = [];
  for (const f of r.files) {
    if (f.findings.length === 0) {
      checks.push({ id: `${f.file}/lint`, subject: f.file, code: 'lint', status: 'pass', message: `${f.statements} statements, nothing unsafe`, file: f.file });
    }
    for (const x of f.findings) {
      checks.push({
        id: `${f.file}${x.line ? `:${x.line}` : ''}/${x.code}`,
        subject: f.file,
        code: x.code,
        status: x.severity === 'error' ? 'fail' : 'warn',
        message: `${x.message} Fix: ${x.fix} (${DOCS}#${x.doc})`,
        file: x.file,
        line: x.line,
        column: x.column,
      });
    }
  }
  return {
    command: 'migrate lint',
    title: 'dbopt migrate lint',
    ok: r.errors === 0,
    summary: `${r.files.length} file${r.files.length === 1 ? '' : 's'} checked: ${r.errors} error${r.errors === 1 ? '' : 's'}, ${r.warnings} warning${r.warnings === 1 ? '' : 's'}`,
    sections: [{
      title: 'Findings',
      columns: ['where', 'rule', 'severity', 'problem', 'fix'],
      rows: r.findings.map((x) => [
        `${x.file}${x.line ? `:${x.line}:${x.column ?? 1}` : ''}${x.section === 'down' ? ' (down)' : ''}`,
        x.code,
        { text: x.severity, tone: x.severity === 'error' ? 'bad' : 'warn' },
        x.message,
        x.fix,
      ]),
      empty: 'no unsafe statements found',
    }],
    checks,
    data: r,
  };
}

export async function runLintCommand(opts: GlobalOptions, files: string[]): Promise<void> {
  const ctx = await commandContext(opts, { 'migrate.dir': opts.dir });
  const targets = files.length > 0 ? files.map((f) => path.resolve(f)) : listMigrationFiles(ctx.resolvePath(ctx.config.migrate.dir)).map((f) => f.file);
  const absent = targets.filter((f) => !existsSync(f));
  if (absent.length > 0) throw new UsageError(`no such migration file: ${absent.map((f) => path.relative(process.cwd(), f)).join(', ')}`, { hint: 'Pass existing .sql/.js/.ts files, or no file to lint the whole migrations directory.' });
  const result = await lintFiles(targets);
  process.exitCode = await emit(lintReport(result), opts);
}
