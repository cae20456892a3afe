// Fitting tables and text into the terminal: the width to fit (process.stdout.columns, else
// COLUMNS, else 100), word wrapping that keeps each wrapped line inside its column, and a
// table layout that drops the columns a section marks as low-value before it wraps anything
// so narrow that it cannot be read. When even the kept columns cannot fit, rows are printed
// as `column: value` records, which always fit.

export const DEFAULT_WIDTH = 100;
/** Narrowest column worth wrapping into; below this a column is dropped or the table becomes records. */
const MIN_COLUMN = 8;
/** Width a wrapping column should keep before low-value columns are dropped to make room. */
const COMFORTABLE_COLUMN = 20;

/** The width output must fit: a TTY's columns, else $COLUMNS, else 100. */
export function terminalWidth(): number {
  const tty = process.stdout.isTTY ? process.stdout.columns : undefined;
  if (tty && tty > 0) return tty;
  const env = Number(process.env.COLUMNS);
  if (Number.isInteger(env) && env > 0) return env;
  return DEFAULT_WIDTH;
}

/** Length as the terminal shows it (ANSI colour codes take no room). */
export function visibleLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return [...s.replace(/\u001b\[[0-9;]*m/g, '')].length;
}

/**
 * Wrap plain text into lines of at most `width` characters: at spaces when it can, after
 * `/`, `,` or `.` inside a long word, and hard when a word has no such place.
 */
export function wrapText(text: string, width: number, firstWidth = width): string[] {
  const out: string[] = [];
  const first = Math.max(1, firstWidth);
  const rest = Math.max(1, width);
  // The first line may be shorter (it shares its line with a prefix).
  const limit = (): number => (out.length === 0 ? first : rest);
  for (const para of text.split('\n')) {
    let line = '';
    for (const word of para.split(/ +/)) {
      if (word === '') continue;
      const candidate = line ? `${line} ${word}` : word;
      if ([...candidate].length <= limit()) {
        line = candidate;
        continue;
      }
      if (line) out.push(line);
      line = '';
      let tail = word;
      while ([...tail].length > limit()) {
        const w = limit();
        const chars = [...tail];
        const head = chars.slice(0, w).join('');
        const soft = Math.max(
          head.lastIndexOf('/'),
          head.lastIndexOf(','),
          head.lastIndexOf('.'),
          head.lastIndexOf('_'),
        );
        const cut = soft >= Math.floor(w / 2) ? soft + 1 : w;
        out.push(chars.slice(0, cut).join(''));
        tail = chars.slice(cut).join('');
      }
      line = tail;
    }
    out.push(line);
  }
  return out;
}

/** Numbers, sizes, durations and ratios: right-aligned so digits line up. */
export function looksNumeric(text: string): boolean {
  return (
    /^[-+]?(\d[\d,]*(\.\d+)?|\.\d+)( ?(ms|s|min|h|%|B|kB|MB|GB|TB|x))?$/.test(text.trim()) ||
    /^\d[\d,]*\/\d[\d,]*$/.test(text.trim())
  );
}

export interface FitCell {
  text: string;
  /** Paints one wrapped line of the cell (colour); identity when absent. */
  paint?: (line: string) => string;
}

export interface FitInput {
  columns: string[];
  rows: FitCell[][];
  /** Column names to drop, first to last, when the table does not fit. */
  drop?: string[];
  width: number;
  /** Paints header text. */
  head?: (s: string) => string;
}

export interface FitOutput {
  lines: string[];
  /** Columns left out to fit the width. */
  dropped: string[];
  /** The table was printed as records (column: value) because even its kept columns could not fit. */
  records: boolean;
}

const overhead = (n: number): number => 3 * n + 1;

function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)));
}

/** Lay out a table within `width` columns (see the module header). */
export function fitTable(input: FitInput): FitOutput {
  const head = input.head ?? ((s: string): string => s);
  let keep = input.columns.map((_, i) => i);
  const longest = (s: string): number => Math.max(0, ...s.split('\n').map((l) => [...l].length));
  const natural = input.columns.map((h, i) =>
    Math.max(longest(h), ...input.rows.map((r) => longest(r[i]?.text ?? ''))),
  );
  const numeric = input.columns.map((_, i) => {
    const texts = input.rows.map((r) => r[i]?.text ?? '').filter((t) => t !== '');
    return texts.length > 0 && texts.every(looksNumeric);
  });
  // A numeric column does not wrap (a number split over lines misleads); others may go down to MIN_COLUMN.
  const min = (i: number): number => (numeric[i] ? natural[i]! : Math.min(natural[i]!, MIN_COLUMN));
  // Low-value columns go before the others would wrap narrower than this.
  const comfortable = (i: number): number => (numeric[i] ? natural[i]! : Math.min(natural[i]!, COMFORTABLE_COLUMN));
  const total = (cols: number[], w: (i: number) => number): number =>
    cols.reduce((s, i) => s + w(i), 0) + overhead(cols.length);
  const fits = (cols: number[]): boolean => total(cols, min) <= input.width;
  const dropped: string[] = [];
  for (const name of input.drop ?? []) {
    if (total(keep, comfortable) <= input.width) break;
    // The last kept column of that name (a table may repeat a heading such as "verdict").
    const i = [...keep].reverse().find((k) => input.columns[k] === name);
    if (i === undefined) continue;
    keep = keep.filter((k) => k !== i);
    dropped.push(name);
  }
  if (!fits(keep) || keep.length === 0) return { lines: recordLines(input, head), dropped: [], records: true };

  // Water-fill: the largest cap on wrappable columns that still fits.
  const available = input.width - overhead(keep.length);
  const widthsFor = (cap: number): number[] =>
    keep.map((i) => (numeric[i] ? natural[i]! : Math.max(min(i), Math.min(natural[i]!, cap))));
  let lo = MIN_COLUMN;
  let hi = Math.max(MIN_COLUMN, ...keep.map((i) => natural[i]!));
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (widthsFor(mid).reduce((a, b) => a + b, 0) <= available) lo = mid;
    else hi = mid - 1;
  }
  const widths = widthsFor(lo);
  // Hand what the cap left over to the columns that still wrap, left to right.
  let spare = available - widths.reduce((a, b) => a + b, 0);
  for (let k = 0; k < keep.length && spare > 0; k++) {
    const extra = Math.min(spare, natural[keep[k]!]! - widths[k]!);
    if (extra > 0) {
      widths[k]! += extra;
      spare -= extra;
    }
  }

  const lines: string[] = [];
  const border = (l: string, m: string, r: string): string => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const emit = (cells: FitCell[], isHead: boolean): void => {
    const wrapped = keep.map((i, k) => {
      const cell = cells[i] ?? { text: '' };
      const paint = isHead ? head : (cell.paint ?? ((s: string): string => s));
      return wrapText(cell.text, widths[k]!).map((l) => ({ l, paint }));
    });
    const height = Math.max(1, ...wrapped.map((w) => w.length));
    for (let y = 0; y < height; y++) {
      lines.push(
        '│' +
          keep
            .map((i, k) => {
              const part = wrapped[k]![y];
              if (!part || !part.l) return ` ${' '.repeat(widths[k]!)} `;
              const gap = ' '.repeat(Math.max(0, widths[k]! - visibleLength(part.l)));
              return ` ${numeric[i] ? gap + part.paint(part.l) : part.paint(part.l) + gap} `;
            })
            .join('│') +
          '│',
      );
    }
  };
  lines.push(border('┌', '┬', '┐'));
  emit(
    input.columns.map((text) => ({ text })),
    true,
  );
  lines.push(border('├', '┼', '┤'));
  for (const row of input.rows) emit(row, false);
  lines.push(border('└', '┴', '┘'));
  return { lines, dropped, records: false };
}

/** Each row as `column: value` lines under a rule, values wrapped to the width. */
function recordLines(input: FitInput, head: (s: string) => string): string[] {
  const lines: string[] = [];
  const label = Math.min(Math.max(...input.columns.map((c) => [...c].length)), Math.floor(input.width / 3));
  for (const row of input.rows) {
    lines.push('─'.repeat(Math.min(input.width, 40)));
    input.columns.forEach((name, i) => {
      const cell = row[i] ?? { text: '' };
      if (cell.text === '') return;
      const paint = cell.paint ?? ((s: string): string => s);
      const nameLines = wrapText(`${name}:`, label + 1);
      const valueWidth = Math.max(1, input.width - label - 2);
      const values = wrapText(cell.text, valueWidth);
      const height = Math.max(nameLines.length, values.length);
      for (let y = 0; y < height; y++) {
        const n = nameLines[y] ?? '';
        const v = values[y] ?? '';
        lines.push(`${pad(n ? head(n) : '', label + 1)} ${v ? paint(v) : ''}`.trimEnd());
      }
    });
  }
  return lines;
}
