// --format junit: one <testcase> per check, grouped in one <testsuite> per subject, in the
// shape Jenkins, GitLab and GitHub test reporters read.
import type { Report, ReportCheck } from '../../report.js';

export function escapeXml(text: string): string {
  return (
    text
      // XML 1.0 forbids most control characters even when escaped.
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&apos;')
  );
}

export function renderJunit(report: Report): string {
  const suites = new Map<string, ReportCheck[]>();
  for (const check of report.checks) {
    const list = suites.get(check.subject) ?? [];
    list.push(check);
    suites.set(check.subject, list);
  }
  const failures = report.checks.filter((c) => c.status === 'fail').length;
  const skipped = report.checks.filter((c) => c.status === 'skip').length;
  const total = (list: ReportCheck[]): string => (list.reduce((s, c) => s + (c.durationMs ?? 0), 0) / 1000).toFixed(3);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<testsuites name="dbopt ${escapeXml(report.command)}" tests="${report.checks.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${total(report.checks)}">`,
  );
  for (const [subject, list] of suites) {
    const f = list.filter((c) => c.status === 'fail').length;
    const s = list.filter((c) => c.status === 'skip').length;
    out.push(
      `  <testsuite name="${escapeXml(subject)}" tests="${list.length}" failures="${f}" errors="0" skipped="${s}" time="${total(list)}">`,
    );
    for (const check of list) {
      const attrs = `name="${escapeXml(check.code)}" classname="${escapeXml(`dbopt.${report.command}.${subject}`)}" time="${((check.durationMs ?? 0) / 1000).toFixed(3)}"${check.file ? ` file="${escapeXml(check.file)}"` : ''}${check.line ? ` line="${check.line}"` : ''}`;
      if (check.status === 'pass') {
        out.push(`    <testcase ${attrs}/>`);
      } else if (check.status === 'skip') {
        out.push(`    <testcase ${attrs}><skipped message="${escapeXml(check.message)}"/></testcase>`);
      } else if (check.status === 'warn') {
        out.push(
          `    <testcase ${attrs}><system-out>${escapeXml(`warning: ${check.message}`)}</system-out></testcase>`,
        );
      } else {
        out.push(
          `    <testcase ${attrs}><failure message="${escapeXml(check.message)}" type="${escapeXml(check.code)}">${escapeXml(check.message)}</failure></testcase>`,
        );
      }
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}
