// The README's output excerpts: blocks marked `<!-- dbopt-output: ARGS [| head N] [| shape] -->`
// followed by a fenced block. test/e2e/readme.test.ts runs each command and compares (after
// normalising numbers, times, hosts and column widths); with DBOPT_WRITE_README=1 it rewrites them.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './cli.js';

export const README = path.join(REPO_ROOT, 'README.md');
const MARKER = /<!-- dbopt-output: (.+?) -->\n```text\n([\s\S]*?)```/g;

export interface Excerpt {
  spec: string;
  args: string[];
  head?: number;
  shape: boolean;
  /** Only the stage headers, each stage's summary line and the closing lines (dbopt demo). */
  outline: boolean;
  body: string;
}

export function readExcerpts(text = readFileSync(README, 'utf8')): Excerpt[] {
  const out: Excerpt[] = [];
  for (const m of text.matchAll(MARKER)) {
    const [command, ...opts] = m[1]!.split('|').map((s) => s.trim());
    const head = opts.find((o) => o.startsWith('head '));
    out.push({
      spec: m[1]!,
      args: command!.split(/\s+/).filter(Boolean),
      head: head ? Number(head.slice(5)) : undefined,
      shape: opts.includes('shape'),
      outline: opts.includes('outline'),
      body: m[2]!,
    });
  }
  return out;
}

/** What the README shows for an output: the command line, then the (first N) lines. */
export function excerptBody(ex: Excerpt, output: string): string {
  let lines = output.replace(/\s+$/, '').split('\n');
  if (ex.outline) lines = outline(lines);
  if (ex.head) lines = lines.slice(0, ex.head);
  return [`$ dbopt ${ex.args.join(' ')}`, ...lines].join('\n') + '\n';
}

function outline(lines: string[]): string[] {
  const heads = lines.flatMap((l, i) => (l.startsWith('== ') ? [i] : []));
  if (heads.length === 0) return lines;
  const out: string[] = [];
  heads.forEach((h, k) => {
    const next = heads[k + 1];
    out.push(lines[h]!);
    if (next !== undefined) {
      out.push(lines[next - 2]!, '');
    } else {
      // The last stage: its summary is the line before the closing block's first blank line.
      const rest = lines.slice(h + 1);
      const closing = rest.findIndex(
        (l, i) => i > 0 && l === '' && /^(Demo complete|Nothing was pending)/.test(rest[i + 1] ?? ''),
      );
      if (closing > 0) out.push(rest[closing - 1]!, ...rest.slice(closing));
    }
  });
  return out;
}

/** Lines with the run-to-run differences removed: numbers, times, hosts, column widths. */
export function normalize(body: string, shape: boolean): string[] {
  let lines = body.split('\n').map((l) =>
    l
      .replace(/\S+@[\w.-]+:\d+\/\S+/g, 'USER@HOST/DB')
      .replace(/\d{4}-\d\d-\d\dT[\d:.]+Z?/g, 'TIME')
      .replace(/\d[\d,.]*/g, '#')
      .replace(/#(?:m|h|d) #(?:s|m|h)\b/g, '#T')
      .replace(/#(?:ms|s|min|m|h|d)\b/g, '#T')
      .replace(/# (?:B|kB|MB|GB|TB)\b/g, '#SIZE')
      .replace(/# (\w+?)s\b/g, '# $1')
      .replace(/─+/g, '─')
      .replace(/ +/g, ' ')
      .trimEnd(),
  );
  lines = unwrap(lines);
  if (shape) {
    // Keep titles, notes and each table's header row; drop the data rows.
    const kept: string[] = [];
    let headerNext = false;
    for (const l of lines) {
      if (l.startsWith('┌')) {
        headerNext = true;
        continue;
      }
      if (l.startsWith('│')) {
        if (headerNext) kept.push(l);
        headerNext = false;
        continue;
      }
      if (l.startsWith('└')) continue;
      kept.push(l);
    }
    lines = kept;
  }
  return lines.filter((l) => l.length > 0);
}

/**
 * Undo the terminal fitting, which reflows when a number is a digit wider: a table row with a
 * blank cell continues the row above (cells joined, spaces dropped; a data row with a blank cell
 * is joined the same way on both sides of a comparison), and an indented line continues the
 * text line above it.
 */
function unwrap(lines: string[]): string[] {
  const out: string[] = [];
  const cells = (l: string): string[] => l.split('│').slice(1, -1);
  for (const l of lines) {
    const prev = out[out.length - 1];
    if (prev !== undefined && l.startsWith('│') && prev.startsWith('│') && cells(l).some((c) => c.trim() === '')) {
      const above = cells(prev);
      out[out.length - 1] = `│${cells(l)
        .map((c, i) => `${above[i] ?? ''}${c}`.replace(/ /g, ''))
        .join('│')}│`;
    } else if (l.startsWith('│')) {
      out.push(l.replace(/ /g, ''));
    } else if (prev !== undefined && /^ +\S/.test(l) && prev.trim() !== '' && !/^[│┌├└]/.test(prev)) {
      out[out.length - 1] = `${prev} ${l.trim()}`;
    } else {
      out.push(l);
    }
  }
  return out;
}

export function writeExcerpt(spec: string, body: string): void {
  const text = readFileSync(README, 'utf8');
  const escaped = spec.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(<!-- dbopt-output: ${escaped} -->\\n\`\`\`text\\n)[\\s\\S]*?(\`\`\`)`);
  writeFileSync(
    README,
    text.replace(re, (_m, a: string, b: string) => `${a}${body}${b}`),
  );
}
