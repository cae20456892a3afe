// Picks the renderer for --format; each renderer reads the same Report.
import type { Report } from '../../report.js';

export interface RenderOptions {
  /** true/false from --color/--no-color; undefined = decide from the environment. */
  color?: boolean;
  /** Columns to fit; default: the terminal's (fit.ts). */
  width?: number;
  /** Print every finding on its own instead of grouping alike ones. */
  verbose?: boolean;
}

export async function renderReport(report: Report, format: string, opts: RenderOptions = {}): Promise<string> {
  switch (format) {
    case 'json':
      return (await import('./json.js')).renderJson(report);
    case 'junit':
      return (await import('./junit.js')).renderJunit(report);
    case 'html':
      return (await import('./html.js')).renderHtml(report);
    case 'markdown':
      return (await import('./markdown.js')).renderMarkdown(report);
    default:
      return (await import('./table.js')).renderTable(report, opts);
  }
}
