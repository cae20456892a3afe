// dbopt migrate lint: parses SQL migrations (and the SQL JS/TS migrations render) with the
// PostgreSQL parser and runs every rule of rules/ over each section. The rules never connect;
// with a connection, context.ts sizes the findings by the real tables afterwards.
import path from 'node:path';
import { ConfigError } from '../../errors.js';
import { splitStatements, SqlSyntaxError, type SqlStatement } from '../../sql/parse.js';
import { readSqlMigration, type SqlMigrationFile } from '../sqlFile.js';
import { jsMigrationSql } from '../jsMigrationSql.js';
import {
  createdBy,
  createdInUnit,
  kind,
  type LintFinding,
  type LintRule,
  type LintUnit,
  type UnitFacts,
} from './types.js';
import { indexNotConcurrent } from './rules/indexNotConcurrent.js';
import { concurrentInTransaction } from './rules/concurrentInTransaction.js';
import { concurrentIndexUnnamed } from './rules/concurrentIndexUnnamed.js';
import { matviewWithoutUniqueIndex } from './rules/matviewWithoutUniqueIndex.js';
import { refreshInMigration } from './rules/refreshInMigration.js';
import { lockTimeoutDisabled } from './rules/lockTimeoutDisabled.js';
import { volatileDefault } from './rules/volatileDefault.js';
import { alterColumnType } from './rules/alterColumnType.js';
import { constraintNotValid } from './rules/constraintNotValid.js';
import { setNotNull } from './rules/setNotNull.js';
import { uniqueConstraint } from './rules/uniqueConstraint.js';
import { dropIndexNotConcurrent } from './rules/dropIndexNotConcurrent.js';
import { addColumnSerial } from './rules/addColumnSerial.js';
import { addColumnRequired } from './rules/addColumnRequired.js';
import { reindexNotConcurrent } from './rules/reindexNotConcurrent.js';
import { vacuumFull } from './rules/vacuumFull.js';
import { cluster } from './rules/cluster.js';
import { alterTableRewrite } from './rules/alterTableRewrite.js';
import { lockTable } from './rules/lockTable.js';
import { detachPartition } from './rules/detachPartition.js';
import { domainConstraint } from './rules/domainConstraint.js';
import { truncate } from './rules/truncate.js';
import { dropDatabase } from './rules/dropDatabase.js';
import { transactionControl } from './rules/transactionControl.js';
import { renameColumn } from './rules/renameColumn.js';
import { renameTable } from './rules/renameTable.js';
import { dropColumn } from './rules/dropColumn.js';
import { dropTable } from './rules/dropTable.js';
import { dropNotNull } from './rules/dropNotNull.js';
import { preferBigint } from './rules/preferBigint.js';
import { preferText } from './rules/preferText.js';
import { preferTimestamptz } from './rules/preferTimestamptz.js';
import { banChar } from './rules/banChar.js';
import { preferIdentity } from './rules/preferIdentity.js';

export type { LintFinding, LintRule, LintUnit, Severity, TableFacts } from './types.js';
export { lintReport } from './report.js';

/** Every rule, in the order findings of one statement are listed. Opt-in rules run only when configured. */
export const RULES: LintRule[] = [
  indexNotConcurrent,
  concurrentInTransaction,
  concurrentIndexUnnamed,
  matviewWithoutUniqueIndex,
  refreshInMigration,
  lockTimeoutDisabled,
  volatileDefault,
  alterColumnType,
  constraintNotValid,
  setNotNull,
  uniqueConstraint,
  dropIndexNotConcurrent,
  addColumnSerial,
  addColumnRequired,
  reindexNotConcurrent,
  vacuumFull,
  cluster,
  alterTableRewrite,
  lockTable,
  detachPartition,
  domainConstraint,
  truncate,
  dropDatabase,
  transactionControl,
  renameColumn,
  renameTable,
  dropColumn,
  dropTable,
  dropNotNull,
  preferBigint,
  preferText,
  preferTimestamptz,
  banChar,
  preferIdentity,
];

/** A file the parser (or, for JS/TS, node-pg-migrate) could not read: one finding, the other files go on. */
export const SYNTAX_ERROR = {
  code: 'syntax-error',
  fix: 'Fix the statement at that position; dbopt parses migrations with the PostgreSQL parser (libpg-query).',
  doc: 'syntax-error',
} as const;

/** migrate.lint.rules: a rule's code to "off", "warning" or "error" (turns opt-in rules on). */
export type RuleSettings = Record<string, 'off' | 'warning' | 'error'>;

export interface LintOptions {
  rules?: RuleSettings;
  /** SQL files already read and parsed (by absolute path), so a migrate run parses each file once. */
  parsed?: Map<string, SqlMigrationFile>;
}

/** The rules a configuration turns on, each with its severity. */
export function activeRules(settings: RuleSettings = {}): LintRule[] {
  const unknown = Object.keys(settings).filter((code) => !RULES.some((r) => r.code === code));
  if (unknown.length > 0) {
    throw new ConfigError(`migrate.lint.rules: unknown rule ${unknown.join(', ')}`, {
      details: [`known rules: ${RULES.map((r) => r.code).join(', ')}`],
      hint: 'Fix the rule code in dbopt.config.json (docs/migrate.md lists every rule).',
    });
  }
  const out: LintRule[] = [];
  for (const rule of RULES) {
    const s = settings[rule.code];
    if (s === 'off' || (rule.optIn && !s)) continue;
    out.push(s ? { ...rule, severity: s } : rule);
  }
  return out;
}

export interface LintFileResult {
  file: string;
  statements: number;
  findings: LintFinding[];
  /** Tables and views the file's up section creates (for the set-wide "created earlier" downgrade). */
  creates: string[];
}

export interface LintResult {
  files: LintFileResult[];
  findings: LintFinding[];
  errors: number;
  warnings: number;
  notes: number;
  /** Findings were sized from a database (context.ts); false: unsized. */
  sized: boolean;
  /** What the sizing used, or why there is none. */
  sizing: string;
}

function facts(unit: LintUnit): UnitFacts {
  return {
    beginAt: unit.statements.findIndex(
      (s) =>
        kind(s) === 'TransactionStmt' && /BEGIN|START/.test(String((s.node.TransactionStmt as { kind?: string }).kind)),
    ),
  };
}

/** `-- dbopt-lint-ignore code[, code]` in the comment lines right above a statement silences those rules for it. */
function ignored(unit: LintUnit, stmt: SqlStatement, code: string): boolean {
  if (!unit.fileText) return false;
  const lines = unit.fileText.split('\n');
  for (let i = stmt.line - 2; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (!l.startsWith('--')) break;
    const m = /dbopt-lint-ignore\b(.*)$/.exec(l);
    if (m) {
      const codes = m[1]!.split(/[\s,]+/).filter(Boolean);
      if (codes.length === 0 || codes.includes(code)) return true;
    }
  }
  return false;
}

function columnOf(text: string | undefined, offset: number): number | undefined {
  if (text === undefined) return undefined;
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return offset - lineStart + 1;
}

/** Run the rules over one unit. */
export function lintUnit(unit: LintUnit, rules: LintRule[] = activeRules()): LintFinding[] {
  const f = facts(unit);
  const out: LintFinding[] = [];
  for (const rule of rules) {
    // A down section reverts its own up section: dropping or renaming what the up added breaks no running code.
    if (unit.section === 'down' && rule.impact === 'breaking') continue;
    for (const hit of rule.check(unit, f)) {
      if (ignored(unit, hit.stmt, rule.code)) continue;
      const severity = hit.severity ?? rule.severity;
      out.push({
        file: unit.file,
        line: unit.rendered ? undefined : hit.stmt.line,
        column: unit.rendered ? undefined : columnOf(unit.fileText, hit.stmt.offset),
        section: unit.section,
        code: rule.code,
        severity,
        fatal: Boolean(rule.fatal) && severity === 'error',
        message: unit.rendered
          ? `${hit.message} (rendered: ${hit.stmt.text.split('\n')[0]!.slice(0, 80)})`
          : hit.message,
        fix: rule.fix,
        doc: rule.doc,
        impact: rule.impact,
        relation: hit.rel
          ? hit.rel.schemaname
            ? `${hit.rel.schemaname}.${hit.rel.relname}`
            : hit.rel.relname
          : undefined,
      });
    }
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Lint SQL text as the up section of a file (used by tests and by `lint` on one string). */
export async function lintSql(sql: string, file = 'inline.sql', opts: LintOptions = {}): Promise<LintFinding[]> {
  const statements = await splitStatements(sql, file, 0, sql);
  return lintUnit({ file, section: 'up', statements, fileText: sql }, activeRules(opts.rules));
}

function syntaxFinding(display: string, err: unknown): LintFinding {
  const e = err instanceof SqlSyntaxError ? err : undefined;
  const message = e ? e.parserMessage : err instanceof Error ? err.message.split('\n')[0]! : String(err);
  return {
    file: display,
    line: e?.line,
    column: e?.column,
    section: 'up',
    code: SYNTAX_ERROR.code,
    severity: 'error',
    fatal: false,
    message: e
      ? `the PostgreSQL parser refused this file: ${message}`
      : `node-pg-migrate could not load or render this migration: ${message}`,
    fix: SYNTAX_ERROR.fix,
    doc: SYNTAX_ERROR.doc,
    impact: 'none',
  };
}

export async function lintFile(
  file: string,
  display = path.relative(process.cwd(), file) || file,
  opts: LintOptions = {},
): Promise<LintFileResult> {
  const rules = activeRules(opts.rules);
  const findings: LintFinding[] = [];
  let statements = 0;
  let creates: string[] = [];
  try {
    if (file.endsWith('.sql')) {
      const parsed = opts.parsed?.get(file) ?? (await readSqlMigration(file, display));
      creates = [...createdBy(parsed.up.statements)];
      for (const section of ['up', 'down'] as const) {
        const s = parsed[section];
        if (!s) continue;
        statements += s.statements.length;
        findings.push(...lintUnit({ file: display, section, statements: s.statements, fileText: parsed.text }, rules));
      }
    } else {
      const rendered = await jsMigrationSql(file);
      for (const section of ['up', 'down'] as const) {
        const r = rendered[section];
        if (!r) continue;
        const stmts: SqlStatement[] = [];
        for (const step of r.steps) stmts.push(...(await splitStatements(step, display)));
        if (section === 'up') creates = [...createdBy(stmts)];
        statements += stmts.length;
        findings.push(
          ...lintUnit(
            { file: display, section, statements: stmts, rendered: true, wrappedInTransaction: r.transaction },
            rules,
          ),
        );
      }
    }
  } catch (err) {
    return { file: display, statements, findings: [syntaxFinding(display, err)], creates: [] };
  }
  return { file: display, statements, findings, creates };
}

export interface LintFilesOptions extends LintOptions {
  /**
   * Files of the set that the coming run applies, in order (all when absent is not assumed:
   * without it only same-file creations count as new tables).
   */
  pending?: Set<string>;
}

/** Lock findings on a table that an earlier pending file of the set creates become notes: it is new and empty. */
function downgradeCreatedInSet(results: LintFileResult[], files: string[], pending: Set<string>): void {
  const created = new Set<string>();
  results.forEach((r, i) => {
    if (!pending.has(files[i]!)) return;
    for (const f of r.findings) {
      if (!f.relation || f.severity === 'note' || !['lock', 'rewrite', 'scan'].includes(f.impact ?? '')) continue;
      const parts = f.relation.split('.');
      const rel = { schemaname: parts.length > 1 ? parts[0] : undefined, relname: parts[parts.length - 1]! };
      if (!createdInUnit(created, rel)) continue;
      f.severity = 'note';
      f.fatal = false;
      f.message += ` Note: ${f.relation} is created earlier in this migration set, so it is new and empty when this runs.`;
    }
    for (const c of r.creates) created.add(c);
  });
}

export function summarize(results: LintFileResult[], sized: boolean, sizing: string): LintResult {
  const findings = results.flatMap((r) => r.findings);
  return {
    files: results,
    findings,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
    notes: findings.filter((f) => f.severity === 'note').length,
    sized,
    sizing,
  };
}

export async function lintFiles(files: string[], opts: LintFilesOptions = {}): Promise<LintResult> {
  const results: LintFileResult[] = [];
  for (const f of files) results.push(await lintFile(f, undefined, opts));
  if (opts.pending) downgradeCreatedInSet(results, files, opts.pending);
  return summarize(results, false, 'unsized: no database connection');
}

/** One line per finding: file:line:col: severity code: message, then the fix. */
export function formatFinding(f: LintFinding): string {
  const where = f.line ? `${f.file}:${f.line}:${f.column ?? 1}` : f.file;
  return `${where}: ${f.severity} ${f.code}: ${f.message} Fix: ${f.fix}`;
}
