// The Report: the one shape every command hands to the renderers (table, json, junit,
// markdown, GitHub). In dbopt's code "report" means this shape and nothing else: library
// functions return typed results, and each command folder's report.ts builds its Report from
// one (auditReport, healthReport, migrateReport, refreshReport, seedReport, lintReport...).
// The `dbopt report` command's own library is health() in src/health/.

export type Tone = 'ok' | 'bad' | 'warn' | 'dim' | 'info';
export type Cell = string | number | null | { text: string; tone: Tone };

export interface TableSection {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Shown under the table. */
  note?: string;
  /** Said instead of an empty table. */
  empty?: string;
  /** Columns of least value, dropped first to last when the table does not fit the terminal. */
  drop?: string[];
  /** 'findings': the table repeats report.checks; the terminal prints them as blocks instead. */
  role?: 'findings';
}

export interface TextSection {
  title: string;
  lines: { text: string; tone?: Tone }[];
}

export type ReportSection = TableSection | TextSection;

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

export interface ReportCheck {
  /** Stable identifier: "<query or object>/<check code>". */
  id: string;
  /** The thing checked (a query, a migration, a view). */
  subject: string;
  /** The check's code, e.g. over-budget, concurrent-index. */
  code: string;
  status: CheckStatus;
  message: string;
  /** Source file the finding points at, relative to the working directory. */
  file?: string;
  line?: number;
  column?: number;
  durationMs?: number;
  /** One imperative line of what to do, when the message does not end with it. */
  help?: string;
  /**
   * Findings alike but for one object of one parent (a partition of a partitioned table, an
   * index of a table) share a group: the terminal prints one block naming the members.
   */
  group?: { parent: string; kind: string; member: string };
}

export interface Report {
  command: string;
  title: string;
  /** user@host:port/db; never a password. */
  server?: string;
  ok: boolean;
  summary: string;
  sections: ReportSection[];
  checks: ReportCheck[];
  /** The library's result object, rendered as-is by --format json. */
  data: unknown;
}

export function isTableSection(s: ReportSection): s is TableSection {
  return 'columns' in s;
}

export function cellText(c: Cell): string {
  if (c === null) return '';
  if (typeof c === 'object') return c.text;
  return String(c);
}
