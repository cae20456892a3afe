// Under GITHUB_ACTIONS=true: workflow-command annotations on stderr (never mixed into a
// --format json stdout) and a markdown job summary appended to $GITHUB_STEP_SUMMARY.
import { appendFileSync } from 'node:fs';
import type { Report } from '../../report.js';
import { renderMarkdown } from './markdown.js';

const MAX_ANNOTATIONS = 10;

/** Escape the message part of a workflow command. */
export function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/** Escape a property value (file, title) of a workflow command. */
export function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

export function githubAnnotations(report: Report): string[] {
  // Errors first (stable: report order within each level), so warnings never crowd them out of the first 10.
  const findings = report.checks
    .filter((c) => c.status === 'fail' || c.status === 'warn')
    .map((c, i) => ({ c, i }))
    .sort((x, y) => (x.c.status === y.c.status ? x.i - y.i : x.c.status === 'fail' ? -1 : 1))
    .map(({ c }) => c);
  const lines: string[] = [];
  for (const check of findings.slice(0, MAX_ANNOTATIONS)) {
    const level = check.status === 'fail' ? 'error' : 'warning';
    const props = [
      check.file ? `file=${escapeProperty(check.file)}` : undefined,
      check.line ? `line=${check.line}` : undefined,
      check.column ? `col=${check.column}` : undefined,
      `title=${escapeProperty(`dbopt ${report.command}: ${check.subject} ${check.code}`)}`,
    ].filter(Boolean);
    lines.push(`::${level} ${props.join(',')}::${escapeData(check.message)}`);
  }
  if (findings.length > MAX_ANNOTATIONS) {
    lines.push(
      `::notice title=${escapeProperty(`dbopt ${report.command}`)}::${escapeData(`${findings.length - MAX_ANNOTATIONS} more findings: see the job summary`)}`,
    );
  }
  return lines;
}

export function emitGithub(report: Report): void {
  for (const line of githubAnnotations(report)) process.stderr.write(line + '\n');
  const summary = process.env.GITHUB_STEP_SUMMARY;
  if (summary) appendFileSync(summary, renderMarkdown(report) + '\n');
}
