// Findings as blocks, the way rustc, eslint and squawk print them:
//   error[seq-scan-large] customer_rentals: Seq Scan on rental reads 300,000 rows (limit 10,000)
//     --> queries/customer_rentals.sql:4
//     help: add an index for its WHERE clause
// Findings alike but for one member of one parent (the partitions of a partitioned table, the
// indexes of one table) print as one block listing the members; --verbose prints each. The
// text is the same with or without colour, so a CI log reads like the terminal.
import type { ReportCheck } from '../../report.js';
import { wrapText } from './fit.js';

export interface BlockPaint {
  error: (s: string) => string;
  warning: (s: string) => string;
  dim: (s: string) => string;
  help: (s: string) => string;
}

const plain: BlockPaint = { error: (s) => s, warning: (s) => s, dim: (s) => s, help: (s) => s };

/** A message and its fix: the explicit help, else " Fix: ...", else the last sentence when it is an imperative. */
export function splitHelp(check: Pick<ReportCheck, 'message' | 'help' | 'subject'>): {
  message: string;
  help?: string;
} {
  // 'query "x" reads ...' under a header already naming x.
  let message = check.message.replace(
    new RegExp(`^query "${check.subject.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}":? `),
    '',
  );
  const fix = /\s+Fix: /.exec(message);
  if (fix)
    return {
      message: message.slice(0, fix.index).replace(/\.$/, ''),
      help: check.help ?? lowerFirst(message.slice(fix.index + fix[0].length)),
    };
  if (check.help) return { message, help: check.help };
  if (message.includes('\n')) return { message };
  // The last ". X..." when it is short enough to be a fix, not a second fact.
  const re = /\.\s+(?=[A-Z])/g;
  let last: RegExpExecArray | null = null;
  for (let m = re.exec(message); m; m = re.exec(message)) last = m;
  if (last && message.length - last.index < 220) {
    const tail = message.slice(last.index + last[0].length);
    if (
      /^(Add|Drop|Run|Check|Make|Restore|Rebuild|Review|Fix|Refresh|Create|Use|Give|Raise|Pass|Set|Remove|If|Accept|Split|Move)\b/.test(
        tail,
      )
    ) {
      message = message.slice(0, last.index);
      return { message, help: lowerFirst(tail.replace(/\.$/, '')) };
    }
  }
  return { message: message.replace(/\.$/, '') };
}

function lowerFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s;
}

function where(c: ReportCheck): string | undefined {
  if (!c.file) return undefined;
  return `${c.file}${c.line ? `:${c.line}${c.column ? `:${c.column}` : ''}` : ''}`;
}

/**
 * `prefix` then `text`, wrapped so that every line is at most `width` long: continuation lines
 * start with `indent`; a prefix too long to share its line with text gets lines of its own.
 */
function hanging(prefix: string, text: string, width: number, indent = '  '): string[] {
  const out: string[] = [];
  const paras = text.split('\n');
  const restWidth = Math.max(1, width - indent.length);
  let first = paras.shift() ?? '';
  const room = width - prefix.length;
  if (room < 12) {
    const lead = /^ */.exec(prefix)![0];
    out.push(...wrapText(prefix.trimEnd(), width - lead.length).map((l, i) => (i === 0 ? lead : indent) + l));
  } else {
    const lines = wrapText(first, restWidth, room);
    out.push(prefix + (lines[0] ?? ''));
    out.push(...lines.slice(1).map((l) => indent + l));
    first = '';
  }
  for (const para of [first, ...paras]) {
    if (para.trim() === '') continue;
    for (const l of wrapText(para, restWidth)) out.push(indent + l);
  }
  return out;
}

export interface BlockGroup {
  checks: ReportCheck[];
}

/** Findings (fail and warn) in report order, alike members of one parent gathered unless verbose. */
export function groupFindings(checks: ReportCheck[], verbose = false): BlockGroup[] {
  const findings = checks.filter((c) => c.status === 'fail' || c.status === 'warn');
  const groups: BlockGroup[] = [];
  const byKey = new Map<string, BlockGroup>();
  for (const c of findings) {
    if (!c.group || verbose) {
      groups.push({ checks: [c] });
      continue;
    }
    const key = JSON.stringify([c.status, c.code, c.group.parent, c.group.kind]);
    const g = byKey.get(key);
    if (g) {
      g.checks.push(c);
    } else {
      const fresh = { checks: [c] };
      byKey.set(key, fresh);
      groups.push(fresh);
    }
  }
  return groups;
}

/** The blocks for a report's findings, separated by blank lines; `width` bounds every line. */
export function renderBlocks(
  checks: ReportCheck[],
  opts: { width: number; verbose?: boolean; paint?: BlockPaint },
): string[] {
  const paint = opts.paint ?? plain;
  const out: string[] = [];
  for (const group of groupFindings(checks, opts.verbose)) {
    if (out.length) out.push('');
    const first = group.checks[0]!;
    const severity = first.status === 'fail' ? 'error' : 'warning';
    const label = `${severity}[${first.code}]`;
    const { message, help } = splitHelp(first);
    const members = [...new Set(group.checks.map((c) => c.group?.member ?? c.subject))];
    const grouped = group.checks.length > 1;
    const count = `${members.length} ${first.group?.kind}${members.length === group.checks.length ? '' : `, ${group.checks.length} findings`}`;
    const subject = grouped ? `${first.group!.parent} (${count})` : first.subject;
    // A lint finding's subject is its file, which the --> line names.
    const header = !grouped && first.file && first.subject === first.file ? `${label}: ` : `${label} ${subject}: `;
    const lines = hanging(header, message, opts.width);
    // Paint after wrapping so colour codes never count against the width.
    lines[0] = (severity === 'error' ? paint.error : paint.warning)(label) + lines[0]!.slice(label.length);
    out.push(...lines);
    const files = [...new Set(group.checks.map(where).filter((w): w is string => Boolean(w)))];
    if (files.length === 1) {
      const w = hanging('  --> ', files[0]!, opts.width, '      ');
      out.push(...w.map((l, i) => (i === 0 ? paint.dim('  -->') + l.slice('  -->'.length) : l)));
    }
    if (grouped) {
      out.push(...hanging(`  = ${first.group!.kind}: `, members.join(', '), opts.width, '    '));
      out.push(
        ...hanging(
          '  = ',
          `the same for each; shown for ${members[0]} (--verbose: one block each)`,
          opts.width,
          '    ',
        ),
      );
    }
    if (help) {
      const h = hanging('  help: ', help, opts.width, '        ');
      out.push(...h.map((l, i) => (i === 0 ? paint.help('  help:') + l.slice('  help:'.length) : l)));
    }
  }
  return out;
}
