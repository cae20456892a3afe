// Reads node-pg-migrate SQL migration files ("-- Up Migration" / "-- Down Migration") and
// splits each section into statements with the real PostgreSQL parser (libpg-query), keeping
// each statement's line so errors and lint findings point into the file.
import { readFileSync } from 'node:fs';
import { UsageError } from '../errors.js';

export interface SqlStatement {
  /** Statement text without the trailing semicolon. */
  text: string;
  /** 1-based line of the statement's first character in the file. */
  line: number;
  /** Character offset of the statement in the file. */
  offset: number;
  /** The parse tree node (e.g. { IndexStmt: {...} }). */
  node: Record<string, unknown>;
}

export interface SqlSection {
  statements: SqlStatement[];
  /** Character offset of the section in the file. */
  offset: number;
  text: string;
}

export interface SqlMigrationFile {
  file: string;
  text: string;
  up: SqlSection;
  down?: SqlSection;
}

const sectionRegex = (direction: string): RegExp => new RegExp(`^\\s*--[\\s-]*${direction}\\s+migration`, 'im');

let parserReady: Promise<typeof import('libpg-query')> | undefined;
async function parser(): Promise<typeof import('libpg-query')> {
  parserReady ??= import('libpg-query').then(async (m) => {
    await m.loadModule();
    return m;
  });
  return parserReady;
}

/** Split SQL text into statements with the PostgreSQL parser. `file` names errors. */
export async function splitStatements(sql: string, file: string, offsetInFile = 0, fileText?: string): Promise<SqlStatement[]> {
  const pg = await parser();
  let tree: { stmts?: { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = (await pg.parse(sql)) as unknown as typeof tree;
  } catch (err) {
    const e = err as { message: string; sqlDetails?: { cursorPosition?: number } };
    const pos = e.sqlDetails?.cursorPosition;
    const full = fileText ?? sql;
    let where = file;
    if (pos !== undefined) {
      const charPos = offsetInFile + Buffer.from(sql, 'utf8').subarray(0, pos).toString('utf8').length;
      const before = full.slice(0, charPos).split('\n');
      where = `${file}:${before.length}:${(before[before.length - 1]?.length ?? 0) + 1}`;
    }
    throw new UsageError(`${where}: SQL syntax error: ${e.message}`, { hint: 'Fix the statement; dbopt parses migrations with the PostgreSQL parser before running them.' });
  }
  const bytes = Buffer.from(sql, 'utf8');
  const full = fileText ?? sql;
  const out: SqlStatement[] = [];
  for (const s of tree.stmts ?? []) {
    const startByte = s.stmt_location ?? 0;
    const endByte = s.stmt_len ? startByte + s.stmt_len : bytes.length;
    const rawPrefix = bytes.subarray(0, startByte).toString('utf8');
    const raw = bytes.subarray(startByte, endByte).toString('utf8');
    // Leading whitespace and comments belong to the location; point at the first real token.
    const lead = /^(\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*/.exec(raw)?.[0].length ?? 0;
    const text = raw.slice(lead).replace(/;\s*$/, '').trim();
    if (!text) continue;
    const offset = offsetInFile + rawPrefix.length + lead;
    out.push({ text, offset, line: full.slice(0, offset).split('\n').length, node: s.stmt });
  }
  return out;
}

export async function readSqlMigration(file: string, displayName = file): Promise<SqlMigrationFile> {
  const text = readFileSync(file, 'utf8');
  const upAt = text.search(sectionRegex('up'));
  const downAt = text.search(sectionRegex('down'));
  const upStart = upAt >= 0 ? upAt : 0;
  const upEnd = downAt > upStart ? downAt : text.length;
  const upText = text.slice(upStart, upEnd);
  const up: SqlSection = { text: upText, offset: upStart, statements: await splitStatements(upText, displayName, upStart, text) };
  let down: SqlSection | undefined;
  if (downAt >= 0) {
    const downEnd = upAt > downAt ? upAt : text.length;
    const downText = text.slice(downAt, downEnd);
    down = { text: downText, offset: downAt, statements: await splitStatements(downText, displayName, downAt, text) };
  }
  return { file: displayName, text, up, down };
}

/** Node type of a statement: IndexStmt, CreateStmt, ... */
export function nodeType(stmt: SqlStatement): string {
  return Object.keys(stmt.node)[0] ?? 'Unknown';
}

export function nodeBody(stmt: SqlStatement): Record<string, unknown> {
  return (stmt.node[nodeType(stmt)] ?? {}) as Record<string, unknown>;
}

/** Statements PostgreSQL refuses inside a transaction block. */
export function mustRunOutsideTransaction(stmt: SqlStatement): boolean {
  const type = nodeType(stmt);
  const body = nodeBody(stmt);
  if (type === 'IndexStmt' && body.concurrent) return true;
  if (type === 'DropStmt' && body.concurrent) return true;
  if (type === 'ReindexStmt' && JSON.stringify(body).includes('"concurrently"')) return true;
  if (type === 'VacuumStmt' && body.is_vacuumcmd) return true;
  if (type === 'CreatedbStmt' || type === 'DropdbStmt') return true;
  if (type === 'AlterTableStmt' && JSON.stringify(body).includes('AT_DetachPartition') && JSON.stringify(body).includes('"concurrent":true')) return true;
  return false;
}

export function isTransactionControl(stmt: SqlStatement): boolean {
  return nodeType(stmt) === 'TransactionStmt';
}
