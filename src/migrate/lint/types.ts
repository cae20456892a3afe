// The shapes lint rules share: a unit of SQL (one section of one migration file, or the SQL a
// JS/TS migration renders), facts gathered about it once, and the findings rules return.
import { nodeBody, nodeType, type SqlStatement } from '../../sql/parse.js';

export type Severity = 'error' | 'warning';

export interface LintUnit {
  /** File as shown to the user (relative to the working directory). */
  file: string;
  section: 'up' | 'down';
  statements: SqlStatement[];
  /** Full text of the file, to turn offsets into line:column; absent for rendered JS. */
  fileText?: string;
  /** A JS/TS migration whose SQL was rendered by node-pg-migrate's MigrationBuilder. */
  rendered?: boolean;
  /** node-pg-migrate would wrap the rendered steps in BEGIN/COMMIT (no pgm.noTransaction()). */
  wrappedInTransaction?: boolean;
}

/** Facts gathered once per unit; what a rule needs per statement it finds itself (createdBefore). */
export interface UnitFacts {
  /** Index of the first explicit BEGIN / START TRANSACTION, or -1. */
  beginAt: number;
}

export interface RuleHit {
  stmt: SqlStatement;
  message: string;
  /** Overrides the rule's severity for this hit. */
  severity?: Severity;
}

export interface LintRule {
  code: string;
  severity: Severity;
  /** The file cannot run as written: refused before dbopt connects. */
  fatal?: boolean;
  /** One imperative line. */
  fix: string;
  /** Anchor of the rule's section in docs/migrate.md. */
  doc: string;
  check(unit: LintUnit, facts: UnitFacts): RuleHit[];
}

export interface LintFinding {
  file: string;
  line?: number;
  column?: number;
  section: 'up' | 'down';
  code: string;
  severity: Severity;
  fatal: boolean;
  message: string;
  fix: string;
  doc: string;
}

export interface RangeVar {
  schemaname?: string;
  relname: string;
}

export function relKey(rel: RangeVar | undefined): string {
  if (!rel) return '';
  return `${(rel.schemaname ?? '').toLowerCase()}.${rel.relname.toLowerCase()}`;
}

export function relName(rel: RangeVar | undefined): string {
  if (!rel) return '?';
  return rel.schemaname ? `${rel.schemaname}.${rel.relname}` : rel.relname;
}

/** Was this relation created earlier in the unit? Unqualified names match any schema. */
export function createdInUnit(set: Set<string>, rel: RangeVar | undefined): boolean {
  if (!rel) return false;
  const key = relKey(rel);
  if (set.has(key)) return true;
  const name = `.${rel.relname.toLowerCase()}`;
  for (const k of set) {
    if (k.endsWith(name) && (!rel.schemaname || k === name)) return true;
  }
  return false;
}

/** Statements before `stmt` in the unit. */
export function before(unit: LintUnit, stmt: SqlStatement): SqlStatement[] {
  return unit.statements.slice(0, unit.statements.indexOf(stmt));
}

/** Tables and materialized views created in the unit before `stmt`. */
export function createdBefore(unit: LintUnit, stmt: SqlStatement): Set<string> {
  const out = new Set<string>();
  for (const s of before(unit, stmt)) {
    const b = nodeBody(s.node);
    if (nodeType(s.node) === 'CreateStmt') out.add(relKey(b.relation as RangeVar));
    if (nodeType(s.node) === 'CreateTableAsStmt') out.add(relKey((b.into as { rel: RangeVar }).rel));
  }
  return out;
}

export interface AlterCmd {
  subtype: string;
  name?: string;
  def?: Record<string, unknown>;
}

/** ALTER TABLE statements on tables that exist before the unit, with their subcommands. */
export function altersOfExistingTables(unit: LintUnit): { stmt: SqlStatement; rel: RangeVar; cmds: AlterCmd[] }[] {
  const out: { stmt: SqlStatement; rel: RangeVar; cmds: AlterCmd[] }[] = [];
  for (const stmt of unit.statements) {
    if (nodeType(stmt.node) !== 'AlterTableStmt') continue;
    const b = nodeBody(stmt.node);
    if (b.objtype !== 'OBJECT_TABLE') continue;
    const rel = b.relation as RangeVar;
    if (createdInUnit(createdBefore(unit, stmt), rel)) continue;
    const cmds = ((b.cmds ?? []) as { AlterTableCmd: AlterCmd }[]).map((c) => c.AlterTableCmd);
    out.push({ stmt, rel, cmds });
  }
  return out;
}
