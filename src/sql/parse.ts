// SQL text to statements with the real PostgreSQL parser (libpg-query), keeping each
// statement's line and offset so errors and findings point into the file; and the parse-tree
// helpers every reader of statements shares (migrate, its lint rules, audit query files, seed).
import { UsageError } from '../errors.js';
import { isConcurrentStatement } from './options.js';

/** The PostgreSQL parser refused the text: where, and the parser's own message. */
export class SqlSyntaxError extends UsageError {
  constructor(
    readonly file: string,
    readonly parserMessage: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(`${line !== undefined ? `${file}:${line}:${column}` : file}: SQL syntax error: ${parserMessage}`, {
      hint: 'Fix the statement; dbopt parses migrations with the PostgreSQL parser before running them.',
    });
  }
}

export interface SqlStatement {
  /** Statement text without the trailing semicolon. */
  text: string;
  /** 1-based line of the statement's first character in the file. */
  line: number;
  /** Character offset of the statement in the file. */
  offset: number;
  /** The parse tree node (e.g. { IndexStmt: {...} }). */
  node: ParseNode;
}

/** A parse-tree node: one key, the node type, holding its fields ({ IndexStmt: {...} }). */
export type ParseNode = Record<string, unknown>;

let parserReady: Promise<typeof import('libpg-query')> | undefined;
async function parser(): Promise<typeof import('libpg-query')> {
  parserReady ??= import('libpg-query').then(async (m) => {
    await m.loadModule();
    return m;
  });
  return parserReady;
}

/** Split SQL text into statements with the PostgreSQL parser. `file` names errors. */
export async function splitStatements(
  sql: string,
  file: string,
  offsetInFile = 0,
  fileText?: string,
): Promise<SqlStatement[]> {
  const pg = await parser();
  let tree: { stmts?: { stmt: Record<string, unknown>; stmt_location?: number; stmt_len?: number }[] };
  try {
    tree = (await pg.parse(sql)) as unknown as typeof tree;
  } catch (err) {
    const e = err as { message: string; sqlDetails?: { cursorPosition?: number } };
    const pos = e.sqlDetails?.cursorPosition;
    const full = fileText ?? sql;
    if (pos === undefined) throw new SqlSyntaxError(file, e.message);
    const charPos = offsetInFile + Buffer.from(sql, 'utf8').subarray(0, pos).toString('utf8').length;
    const before = full.slice(0, charPos).split('\n');
    throw new SqlSyntaxError(file, e.message, before.length, (before[before.length - 1]?.length ?? 0) + 1);
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

/** Type of a parse-tree node: IndexStmt, CreateStmt, ... */
export function nodeType(node: ParseNode): string {
  return Object.keys(node)[0] ?? 'Unknown';
}

/** The fields of a parse-tree node ({ IndexStmt: fields } -> fields). */
export function nodeBody(node: ParseNode): Record<string, unknown> {
  return (node[nodeType(node)] ?? {}) as Record<string, unknown>;
}

/** Statements PostgreSQL refuses inside a transaction block (read from the parse tree's options). */
export function mustRunOutsideTransaction(stmt: SqlStatement): boolean {
  const type = nodeType(stmt.node);
  if (isConcurrentStatement(stmt.node)) return true;
  if (type === 'VacuumStmt' && nodeBody(stmt.node).is_vacuumcmd) return true;
  return type === 'CreatedbStmt' || type === 'DropdbStmt';
}

/** A statement that waits for older transactions like a build: it runs with the build's lock budget. */
export function takesConcurrentPath(stmt: SqlStatement): boolean {
  return isConcurrentStatement(stmt.node);
}
