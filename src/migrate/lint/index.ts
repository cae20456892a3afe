// dbopt migrate lint: parses SQL migrations (and the SQL JS/TS migrations render) with the
// PostgreSQL parser and runs every rule of rules/ over each section. Never connects.
import path from 'node:path';
import { nodeType, splitStatements, type SqlStatement } from '../../sql/parse.js';
import { readSqlMigration } from '../sqlFile.js';
import { jsMigrationSql } from '../jsMigrationSql.js';
import { type LintFinding, type LintRule, type LintUnit, type UnitFacts } from './types.js';
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

export type { LintFinding, LintRule, LintUnit, Severity } from './types.js';
export { lintReport } from './report.js';

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
];

export interface LintFileResult {
  file: string;
  statements: number;
  findings: LintFinding[];
}

export interface LintResult {
  files: LintFileResult[];
  findings: LintFinding[];
  errors: number;
  warnings: number;
}

function facts(unit: LintUnit): UnitFacts {
  return {
    beginAt: unit.statements.findIndex((s) => nodeType(s.node) === 'TransactionStmt' && /BEGIN|START/.test(String((s.node.TransactionStmt as { kind?: string }).kind))),
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

/** Run every rule over one unit. */
export function lintUnit(unit: LintUnit, rules: LintRule[] = RULES): LintFinding[] {
  const f = facts(unit);
  const out: LintFinding[] = [];
  for (const rule of rules) {
    for (const hit of rule.check(unit, f)) {
      if (ignored(unit, hit.stmt, rule.code)) continue;
      out.push({
        file: unit.file,
        line: unit.rendered ? undefined : hit.stmt.line,
        column: unit.rendered ? undefined : columnOf(unit.fileText, hit.stmt.offset),
        section: unit.section,
        code: rule.code,
        severity: hit.severity ?? rule.severity,
        fatal: Boolean(rule.fatal) && (hit.severity ?? rule.severity) === 'error',
        message: unit.rendered ? `${hit.message} (rendered: ${hit.stmt.text.split('\n')[0]!.slice(0, 80)})` : hit.message,
        fix: rule.fix,
        doc: rule.doc,
      });
    }
  }
  return out.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}

/** Lint SQL text as the up section of a file (used by tests and by `lint` on one string). */
export async function lintSql(sql: string, file = 'inline.sql'): Promise<LintFinding[]> {
  const statements = await splitStatements(sql, file, 0, sql);
  return lintUnit({ file, section: 'up', statements, fileText: sql });
}

export async function lintFile(file: string, display = path.relative(process.cwd(), file) || file): Promise<LintFileResult> {
  const findings: LintFinding[] = [];
  let statements = 0;
  if (file.endsWith('.sql')) {
    const parsed = await readSqlMigration(file, display);
    for (const section of ['up', 'down'] as const) {
      const s = parsed[section];
      if (!s) continue;
      statements += s.statements.length;
      findings.push(...lintUnit({ file: display, section, statements: s.statements, fileText: parsed.text }));
    }
  } else {
    const rendered = await jsMigrationSql(file);
    for (const section of ['up', 'down'] as const) {
      const r = rendered[section];
      if (!r) continue;
      const stmts: SqlStatement[] = [];
      for (const step of r.steps) stmts.push(...(await splitStatements(step, display)));
      statements += stmts.length;
      findings.push(...lintUnit({ file: display, section, statements: stmts, rendered: true, wrappedInTransaction: r.transaction }));
    }
  }
  return { file: display, statements, findings };
}

export async function lintFiles(files: string[]): Promise<LintResult> {
  const results: LintFileResult[] = [];
  for (const f of files) results.push(await lintFile(f));
  const findings = results.flatMap((r) => r.findings);
  return {
    files: results,
    findings,
    errors: findings.filter((f) => f.severity === 'error').length,
    warnings: findings.filter((f) => f.severity === 'warning').length,
  };
}

/** One line per finding: file:line:col: severity code: message, then the fix. */
export function formatFinding(f: LintFinding): string {
  const where = f.line ? `${f.file}:${f.line}:${f.column ?? 1}` : f.file;
  return `${where}: ${f.severity} ${f.code}: ${f.message} Fix: ${f.fix}`;
}
