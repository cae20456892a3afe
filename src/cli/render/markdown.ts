// --format markdown: the same sections as GitHub-flavoured markdown tables (also the job summary).
import { cellText, isTableSection, type Report } from '../../report.js';

export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]<>|#]/g, (ch) => `\\${ch}`).replace(/\r?\n/g, ' ');
}

export function renderMarkdown(report: Report): string {
  const out: string[] = [];
  out.push(`## ${escapeMarkdown(report.title)}`);
  if (report.server) out.push('', `Server: \`${report.server.replace(/`/g, "'")}\``);
  for (const section of report.sections) {
    out.push('', `### ${escapeMarkdown(section.title)}`, '');
    if (isTableSection(section)) {
      if (section.rows.length === 0) {
        out.push(`_${escapeMarkdown(section.empty ?? 'nothing to show')}_`);
      } else {
        out.push(`| ${section.columns.map(escapeMarkdown).join(' | ')} |`);
        out.push(`| ${section.columns.map(() => '---').join(' | ')} |`);
        for (const row of section.rows) out.push(`| ${row.map((c) => escapeMarkdown(cellText(c))).join(' | ')} |`);
      }
      if (section.note) out.push('', escapeMarkdown(section.note));
    } else {
      for (const line of section.lines) out.push(`- ${escapeMarkdown(line.text)}`);
    }
  }
  out.push('', `**${report.ok ? 'OK' : 'FAILED'}**: ${escapeMarkdown(report.summary)}`);
  return out.join('\n') + '\n';
}
