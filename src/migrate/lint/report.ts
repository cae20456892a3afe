// Turns a LintResult into the shared Report: one check per finding (and a pass per clean
// file), each pointing at its rule's section in docs/migrate.md.
import type { Report, ReportCheck } from '../../report.js';
import type { LintResult } from './index.js';

const DOCS = 'docs/migrate.md';
const lowerFirst = (s: string): string => (/^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s);

export function lintReport(r: LintResult): Report {
  const checks: ReportCheck[] = [];
  for (const f of r.files) {
    if (f.findings.length === 0) {
      checks.push({
        id: `${f.file}/lint`,
        subject: f.file,
        code: 'lint',
        status: 'pass',
        message: `${f.statements} statements, nothing unsafe`,
        file: f.file,
      });
    }
    for (const x of f.findings) {
      checks.push({
        id: `${f.file}${x.line ? `:${x.line}` : ''}/${x.code}`,
        subject: f.file,
        code: x.code,
        status: x.severity === 'error' ? 'fail' : x.severity === 'warning' ? 'warn' : 'pass',
        message: `${x.severity === 'note' ? 'note: ' : ''}${x.message} Fix: ${x.fix} (${DOCS}#${x.doc})`,
        help: `${lowerFirst(x.fix)} (${DOCS}#${x.doc})`,
        file: x.file,
        line: x.line,
        column: x.column,
      });
    }
  }
  const n = (k: number, word: string): string => `${k} ${word}${k === 1 ? '' : 's'}`;
  return {
    command: 'migrate lint',
    title: 'dbopt migrate lint',
    ok: r.errors === 0,
    summary: `${n(r.files.length, 'file')} checked: ${n(r.errors, 'error')}, ${n(r.warnings, 'warning')}${r.notes ? `, ${n(r.notes, 'note')}` : ''}${r.findings.length > 0 ? ` (${r.sizing})` : ''}`,
    sections: [
      {
        title: 'Findings',
        role: 'findings',
        columns: ['where', 'rule', 'severity', 'problem', 'fix'],
        rows: r.findings.map((x) => [
          `${x.file}${x.line ? `:${x.line}:${x.column ?? 1}` : ''}${x.section === 'down' ? ' (down)' : ''}`,
          x.code,
          { text: x.severity, tone: x.severity === 'error' ? 'bad' : x.severity === 'warning' ? 'warn' : 'info' },
          x.message,
          x.fix,
        ]),
        empty: 'no unsafe statements found',
      },
    ],
    checks,
    data: r,
  };
}
