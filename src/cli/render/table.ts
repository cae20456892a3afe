// --format table: sections as tables fitted to the terminal (fit.ts), findings as blocks
// (blocks.ts), colour through chalk (NO_COLOR, FORCE_COLOR and --color/--no-color are
// honoured; chalk colours only a TTY by default, so a CI log gets the same text uncoloured).
import chalk, { Chalk, type ChalkInstance } from 'chalk';
import { cellText, isTableSection, type Cell, type Report, type Tone } from '../../report.js';
import type { RenderOptions } from './index.js';
import { fitTable, terminalWidth, wrapText, type FitCell } from './fit.js';
import { renderBlocks } from './blocks.js';

function painter(opts: RenderOptions): ChalkInstance {
  if (opts.color === true) return new Chalk({ level: Math.max(chalk.level, 1) as 1 | 2 | 3 });
  if (opts.color === false || process.env.NO_COLOR) return new Chalk({ level: 0 });
  return chalk;
}

export function renderTable(report: Report, opts: RenderOptions = {}): string {
  const c = painter(opts);
  const width = opts.width ?? terminalWidth();
  const tone = (t: Tone | undefined, s: string): string => {
    switch (t) {
      case 'ok':
        return c.green(s);
      case 'bad':
        return c.red(s);
      case 'warn':
        return c.yellow(s);
      case 'dim':
        return c.dim(s);
      case 'info':
        return c.cyan(s);
      default:
        return s;
    }
  };
  const fitCell = (cell: Cell): FitCell =>
    cell !== null && typeof cell === 'object'
      ? { text: cell.text, paint: (l) => tone(cell.tone, l) }
      : { text: cellText(cell) };
  const text = (s: string, indent: string, paint: (l: string) => string = (l) => l): string[] =>
    wrapText(s, width - indent.length).map((l) => indent + paint(l));
  const out: string[] = [];
  const blocks = (): void => {
    const lines = renderBlocks(report.checks, {
      width,
      verbose: opts.verbose,
      paint: {
        error: (s) => c.bold.red(s),
        warning: (s) => c.bold.yellow(s),
        dim: (s) => c.cyan(s),
        help: (s) => c.cyan(s),
      },
    });
    out.push('', c.bold('Findings'));
    out.push(...(lines.length ? lines : [c.dim('  no findings')]));
  };
  let blocksShown = false;
  out.push(...text(report.title + (report.server ? `  ${report.server}` : ''), '', c.bold));
  for (const section of report.sections) {
    if (isTableSection(section) && section.role === 'findings') {
      blocks();
      blocksShown = true;
      continue;
    }
    out.push('');
    out.push(...text(section.title, '', c.bold));
    if (isTableSection(section)) {
      if (section.rows.length === 0) {
        out.push(...text(section.empty ?? 'nothing to show', '  ', c.dim));
      } else {
        const fitted = fitTable({
          columns: section.columns,
          rows: section.rows.map((r) => r.map(fitCell)),
          drop: section.drop,
          width,
          head: (s) => c.bold(s),
        });
        out.push(...fitted.lines);
        if (fitted.dropped.length) {
          out.push(
            ...text(
              `(${fitted.dropped.join(', ')} not shown to fit ${width} columns; a wider terminal or --format json shows them)`,
              '',
              c.dim,
            ),
          );
        }
      }
      if (section.note) out.push(...text(section.note, '', c.dim));
    } else {
      for (const line of section.lines) out.push(...text(line.text, '  ', (l) => tone(line.tone, l)));
    }
  }
  if (!blocksShown && report.checks.some((x) => x.status === 'fail' || x.status === 'warn')) blocks();
  out.push('');
  out.push(...text(report.summary, '', report.ok ? c.green : c.red));
  return out.join('\n') + '\n';
}
