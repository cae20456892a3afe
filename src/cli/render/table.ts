// --format table: sections as cli-table3 tables, colour through chalk (NO_COLOR, FORCE_COLOR
// and --color/--no-color are honoured).
import chalk, { Chalk, type ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import { cellText, isTableSection, type Cell, type Report, type Tone } from '../../report.js';
import type { RenderOptions } from './index.js';

function painter(opts: RenderOptions): ChalkInstance {
  if (opts.color === true) return new Chalk({ level: Math.max(chalk.level, 1) as 1 | 2 | 3 });
  if (opts.color === false || process.env.NO_COLOR) return new Chalk({ level: 0 });
  return chalk;
}

export function renderTable(report: Report, opts: RenderOptions = {}): string {
  const c = painter(opts);
  const tone = (t: Tone | undefined, s: string): string => {
    switch (t) {
      case 'ok': return c.green(s);
      case 'bad': return c.red(s);
      case 'warn': return c.yellow(s);
      case 'dim': return c.dim(s);
      case 'info': return c.cyan(s);
      default: return s;
    }
  };
  const paint = (cell: Cell): string => (cell !== null && typeof cell === 'object' ? tone(cell.tone, cell.text) : cellText(cell));
  const out: string[] = [];
  out.push(c.bold(report.title) + (report.server ? c.dim(`  ${report.server}`) : ''));
  for (const section of report.sections) {
    out.push('');
    out.push(c.bold(section.title));
    if (isTableSection(section)) {
      if (section.rows.length === 0) {
        out.push(c.dim(`  ${section.empty ?? 'nothing to show'}`));
      } else {
        const table = new Table({
          head: section.columns.map((h) => c.bold(h)),
          style: { head: [], border: [] },
          chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
        });
        for (const row of section.rows) table.push(row.map(paint));
        out.push(table.toString());
      }
      if (section.note) out.push(c.dim(section.note));
    } else {
      for (const line of section.lines) out.push(`  ${tone(line.tone, line.text)}`);
    }
  }
  out.push('');
  out.push(report.ok ? c.green(report.summary) : c.red(report.summary));
  return out.join('\n') + '\n';
}
