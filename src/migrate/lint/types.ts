// The shapes lint rules share: a unit of SQL (one section of one migration file, or the SQL a
// JS/TS migration renders), facts gathered about it once, and the findings rules return.
import { nodeBody, nodeType, type SqlStatement } from '../../sql/parse.js';

/** note: a lock finding that does not matter here (a new or small table), shown but never failing. */
export type Severity = 'error' | 'warning' | 'note';

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

/** What a finding costs on a big table: decides how database context sizes it. */
export type Impact = 'lock' | 'rewrite' | 'scan' | 'breaking' | 'none';

export interface RuleHit {
  stmt: SqlStatement;
  message: string;
  /** Overrides the rule's severity for this hit. */
  severity?: Severity;
  /** The existing table the statement locks, rewrites or scans (sized with a connection). */
  rel?: RangeVar;
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
  /** Off unless migrate.lint.rules turns it on (type-style rules). */
  optIn?: boolean;
  /** What the rule's lock or change blocks, for the README's table. */
  blocks: string;
  /** The squawk rule(s) it answers, for the comparison in docs/migrate.md. */
  squawk?: string;
  impact: Impact;
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
  impact?: Impact;
  /** The relation a lock finding is about, as written ("schema.name" or "name"). */
  relation?: string;
  /** Size and traffic of that relation, when linted with a connection. */
  table?: TableFacts;
}

export interface TableFacts {
  rows: number;
  bytes: number;
  /** Inserts + updates + deletes per second since the statistics were reset. */
  writesPerSec: number | null;
  /** Rough time the lock is held (rewrites, scans, builds), in ms. */
  estimatedLockMs?: number;
}

/** Node type of a statement (IndexStmt, CreateStmt, ...). */
export function kind(stmt: SqlStatement): string {
  return nodeType(stmt.node);
}

/** The fields of a statement's node. */
export function body(stmt: SqlStatement): Record<string, unknown> {
  return nodeBody(stmt.node);
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

/** Tables and materialized views a list of statements creates. */
export function createdBy(statements: SqlStatement[]): Set<string> {
  const out = new Set<string>();
  for (const s of statements) {
    const b = body(s);
    if (kind(s) === 'CreateStmt') out.add(relKey(b.relation as RangeVar));
    if (kind(s) === 'CreateTableAsStmt') out.add(relKey((b.into as { rel: RangeVar }).rel));
  }
  return out;
}

/** Is `rel` a table that exists before `stmt` runs (not created earlier in the unit or set)? */
export function existingBefore(unit: LintUnit, stmt: SqlStatement, rel: RangeVar | undefined): boolean {
  return Boolean(rel) && !createdInUnit(createdBefore(unit, stmt), rel);
}

export interface ColumnDef {
  colname?: string;
  typeName?: { names?: { String: { sval: string } }[]; typmods?: unknown[]; arrayBounds?: unknown[] };
  constraints?: { Constraint: Record<string, unknown> & { contype: string } }[];
}

/** The type of a column as PostgreSQL names it internally: int4, varchar, bigserial, timestamp... */
export function typeOf(col: ColumnDef): string {
  const names = col.typeName?.names ?? [];
  return names[names.length - 1]?.String.sval.toLowerCase() ?? '';
}

/** Every column a statement defines: CREATE TABLE columns and ALTER TABLE ... ADD COLUMN. */
export function columnsDefined(
  unit: LintUnit,
): { stmt: SqlStatement; rel: RangeVar; col: ColumnDef; added: boolean }[] {
  const out: { stmt: SqlStatement; rel: RangeVar; col: ColumnDef; added: boolean }[] = [];
  for (const stmt of unit.statements) {
    const b = body(stmt);
    if (kind(stmt) === 'CreateStmt') {
      for (const e of (b.tableElts ?? []) as { ColumnDef?: ColumnDef }[]) {
        if (e.ColumnDef) out.push({ stmt, rel: b.relation as RangeVar, col: e.ColumnDef, added: false });
      }
    }
    if (kind(stmt) === 'AlterTableStmt' && b.objtype === 'OBJECT_TABLE') {
      for (const c of (b.cmds ?? []) as { AlterTableCmd: AlterCmd }[]) {
        const col = c.AlterTableCmd.def?.ColumnDef as ColumnDef | undefined;
        if (c.AlterTableCmd.subtype === 'AT_AddColumn' && col)
          out.push({ stmt, rel: b.relation as RangeVar, col, added: true });
      }
    }
  }
  return out;
}

/** A qualified name list (["public", "t"]) as written. */
export function dottedName(names: unknown): string {
  return ((names ?? []) as { String?: { sval: string } }[]).map((n) => n.String?.sval ?? '?').join('.');
}
