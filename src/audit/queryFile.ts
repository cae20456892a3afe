// Reads the annotated .sql files of `dbopt audit` (queries/*.sql, one statement per file):
// the `-- key: value` header, the statement parsed with the PostgreSQL parser (libpg-query),
// and every mistake refused up front as a UsageError naming file:line(:column), so nothing
// reaches the server that the audit would not run safely.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { parseDuration } from '../duration.js';
import { nodeType, splitStatements, type SqlStatement } from '../sql/parse.js';
import { refuseAdminCalls } from './adminFunctions.js';

export type ExpectFact = { kind: 'index'; index: string } | { kind: 'index-only' } | { kind: 'no-seq-scan' };

export type ParamValue = string | null;

export interface AuditQuery {
  name: string;
  /** Path as given to the user (relative to the working directory when possible). */
  file: string;
  fileText: string;
  /** The statement as sent to the server (no trailing semicolon). */
  text: string;
  /** Character offset of the statement in the file (maps server error positions back). */
  offset: number;
  /** 1-based line of the statement's first token. */
  line: number;
  tier?: string;
  budgetMs: number;
  /** Where the budget came from: "tier hot" or "budget". */
  budgetSource: string;
  cold: boolean;
  /** Literal parameter rows (from `-- params:`). */
  params?: ParamValue[][];
  /** Sampling SQL whose rows are cycled through the runs (from `-- params-from:`). */
  paramsFrom?: { text: string; line: number; offset: number };
  /** Highest $n placeholder in the statement. */
  placeholders: number;
  expect: ExpectFact[];
  allowWrites: boolean;
  /** True when the statement writes (INSERT/UPDATE/DELETE/MERGE, SELECT INTO, data-modifying WITH). */
  writes: boolean;
  runs?: number;
  /** Share of the load mix (`-- weight: N`, default 1; 0 leaves the query out of --load). */
  weight: number;
  /** 1-based line of each annotation, to point findings at it. */
  annotationLines: Record<string, number>;
}

export interface ParseOptions {
  /** Budget per tier in ms (config audit.tiers). */
  tiers: Record<string, number>;
  /** audit.statementTimeout in ms: a budget at or above it could never pass. */
  statementTimeoutMs?: number;
}

const KNOWN = ['name', 'tier', 'budget', 'params', 'params-from', 'expect', 'allow-writes', 'runs', 'weight'];
const ANNOTATION = /^--\s*([A-Za-z][\w-]*)\s*:\s?(.*)$/;
const FLAG = /^--\s*(allow-writes)\s*$/;

/** The .sql files of a query directory, sorted. */
export function queryFiles(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new UsageError(`query directory not found: ${dir}`, {
      hint: 'Set audit.queries in dbopt.config.json or pass --queries DIR.',
    });
  }
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => path.join(dir, f));
}

/** Read and validate every query file of `dir`; duplicate names are refused. */
export async function loadQueries(dir: string, opts: ParseOptions): Promise<AuditQuery[]> {
  const out: AuditQuery[] = [];
  const seen = new Map<string, AuditQuery>();
  for (const file of queryFiles(dir)) {
    const display = path.relative(process.cwd(), file) || file;
    const q = await parseQueryFile(readFileSync(file, 'utf8'), display, opts);
    const prev = seen.get(q.name);
    if (prev) {
      throw new UsageError(
        `${q.file}:${q.annotationLines.name ?? 1}: duplicate query name "${q.name}" (also in ${prev.file}:${prev.annotationLines.name ?? 1})`,
        {
          hint: 'Give each query a unique -- name: (the baseline is keyed by it).',
        },
      );
    }
    seen.set(q.name, q);
    out.push(q);
  }
  return out;
}

function fail(file: string, line: number, message: string, hint: string, column?: number): never {
  throw new UsageError(`${file}:${line}${column ? `:${column}` : ''}: ${message}`, { hint });
}

/** Parse one query file's text. `file` is only used in messages. */
export async function parseQueryFile(fileText: string, file: string, opts: ParseOptions): Promise<AuditQuery> {
  const header = readAnnotations(fileText, file);
  const { values, annotationLines } = header;
  const { stmt, writes, allowWrites } = await theStatement(fileText, file, header);
  const name = values.name ?? path.basename(file, '.sql');
  if (name.trim() === '')
    fail(file, annotationLines.name ?? 1, 'the query name is empty', 'Write e.g. "-- name: user_by_telegram_id".');
  const tier = values.tier;
  const { budgetMs, budgetSource } = budgetOf(header, file, opts);
  let weight = 1;
  if (values.weight !== undefined) {
    weight = Number(values.weight);
    if (!/^\d+(\.\d+)?$/.test(values.weight) || !Number.isFinite(weight)) {
      fail(
        file,
        annotationLines.weight!,
        `weight "${values.weight}" must be a number of 0 or more`,
        'Write e.g. "-- weight: 10" (share of the load mix; 0 leaves the query out).',
      );
    }
  }
  let runs: number | undefined;
  if (values.runs !== undefined) {
    runs = Number(values.runs);
    if (!Number.isInteger(runs) || runs < 1)
      fail(
        file,
        annotationLines.runs!,
        `runs "${values.runs}" must be a positive integer`,
        'Write e.g. "-- runs: 50".',
      );
  }
  const placeholders = maxParamRef(stmt.node);
  const { params, paramsFrom } = await paramsOf(fileText, file, header, stmt, placeholders);
  const expect = values.expect !== undefined ? parseExpect(values.expect, file, annotationLines.expect!) : [];
  return {
    name,
    file,
    fileText,
    text: stmt.text,
    offset: stmt.offset,
    line: stmt.line,
    tier,
    budgetMs,
    budgetSource,
    cold: tier === 'cold',
    params,
    paramsFrom,
    placeholders,
    expect,
    allowWrites,
    writes,
    runs,
    weight,
    annotationLines,
  };
}

interface Header {
  lines: string[];
  /** Annotation values by key, and the line each was given on. */
  values: Record<string, string>;
  annotationLines: Record<string, number>;
  /** Character offset where the statement part starts. */
  headerEnd: number;
}

/** The leading comment lines: `-- key: value` annotations (known keys, each once) and prose. */
function readAnnotations(fileText: string, file: string): Header {
  const lines = fileText.split('\n');
  const values: Record<string, string> = {};
  const annotationLines: Record<string, number> = {};
  let headerEnd = 0; // character offset where the statement part starts
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const line = raw.replace(/\r$/, '').trim();
    if (line !== '' && !line.startsWith('--')) break;
    offset += raw.length + 1;
    headerEnd = offset;
    if (!line.startsWith('--')) continue;
    const flag = FLAG.exec(line);
    const m = flag ? [line, flag[1]!, 'true'] : ANNOTATION.exec(line);
    if (!m) continue; // prose comment
    const key = m[1]!.toLowerCase();
    if (!KNOWN.includes(key)) {
      fail(
        file,
        i + 1,
        `unknown annotation "-- ${m[1]}:"`,
        `Known annotations: ${KNOWN.map((k) => `-- ${k}:`).join(', ')}. Write prose comments without a "word:" prefix.`,
      );
    }
    if (key in values)
      fail(
        file,
        i + 1,
        `annotation "-- ${key}:" given twice (first on line ${annotationLines[key]})`,
        'Keep one of them.',
      );
    values[key] = (m[2] ?? '').trim();
    annotationLines[key] = i + 1;
  }
  return { lines, values, annotationLines, headerEnd };
}

/** The one statement after the annotations: auditable, and writing only with -- allow-writes. */
async function theStatement(
  fileText: string,
  file: string,
  h: Header,
): Promise<{ stmt: SqlStatement; writes: boolean; allowWrites: boolean }> {
  const { lines, values, headerEnd } = h;
  const body = fileText.slice(headerEnd);
  const statements = await parseStatements(body, file, headerEnd, fileText);
  if (statements.length === 0)
    fail(
      file,
      lines.length,
      'no SQL statement after the annotations',
      'Put exactly one statement after the -- annotations.',
    );
  const tx = statements.find((s) => nodeType(s.node) === 'TransactionStmt');
  if (tx) {
    fail(
      file,
      tx.line,
      `transaction control is not allowed (${tx.text.split(/\s+/)[0]!.toUpperCase()})`,
      'Remove it: dbopt runs each query in its own READ ONLY transaction and always rolls it back.',
    );
  }
  if (statements.length > 1) {
    fail(
      file,
      statements[1]!.line,
      `more than one statement (${statements.length}): dbopt audits one statement per file`,
      'Split the file: one query per .sql file.',
    );
  }
  const stmt = statements[0]!;
  const type = nodeType(stmt.node);
  const writes = isWrite(stmt.node);
  if (!['SelectStmt', 'InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'].includes(type)) {
    fail(
      file,
      stmt.line,
      `${type.replace(/Stmt$/, '')} statements cannot be audited`,
      'Audit queries are SELECT (or, with -- allow-writes, INSERT/UPDATE/DELETE/MERGE); run DDL and maintenance through migrations.',
    );
  }
  await refuseAdminCalls(stmt.text, stmt.offset, fileText, file);
  const allowWrites = values['allow-writes'] !== undefined && values['allow-writes'] !== 'false';
  if (writes && !allowWrites) {
    fail(
      file,
      stmt.line,
      `the statement writes (${describeWrite(stmt.node)}) and the file has no "-- allow-writes"`,
      'Add "-- allow-writes" to measure it (it runs in a transaction that is rolled back, but sequences it advances, e.g. for an INSERT ... RETURNING id, stay advanced: never point it at production), or audit a read-only query.',
    );
  }

  return { stmt, writes, allowWrites };
}

/** The p95 budget: -- budget: wins over -- tier:, and must be below audit.statementTimeout. */
function budgetOf(h: Header, file: string, opts: ParseOptions): { budgetMs: number; budgetSource: string } {
  const { values, annotationLines } = h;
  let budgetMs: number | undefined;
  let budgetSource = '';
  const tier = values.tier;
  if (tier !== undefined) {
    if (!(tier in opts.tiers))
      fail(
        file,
        annotationLines.tier!,
        `unknown tier "${tier}"`,
        `Use one of ${Object.keys(opts.tiers).join(', ')}, or add it to audit.tiers in the config.`,
      );
    budgetMs = opts.tiers[tier];
    budgetSource = `tier ${tier}`;
  }
  if (values.budget !== undefined) {
    const ms = parseDuration(values.budget);
    if (ms === undefined || ms <= 0)
      fail(
        file,
        annotationLines.budget!,
        `budget "${values.budget}" is not a duration`,
        'Write it like "50ms" or "2s".',
      );
    budgetMs = ms;
    budgetSource = 'budget';
  }
  if (budgetMs === undefined)
    fail(
      file,
      1,
      'no "-- tier:" or "-- budget:"',
      `Add "-- tier: hot" (one of ${Object.keys(opts.tiers).join(', ')}) or "-- budget: 50ms".`,
    );
  if (opts.statementTimeoutMs !== undefined && budgetMs >= opts.statementTimeoutMs) {
    // The statement is cancelled at audit.statementTimeout, so it could never finish within such a budget.
    const where = values.budget !== undefined ? annotationLines.budget! : annotationLines.tier!;
    fail(
      file,
      where,
      `budget ${budgetMs} ms (${budgetSource}) is not below audit.statementTimeout (${opts.statementTimeoutMs} ms): the statement is cancelled before it could pass`,
      'Lower the budget, or raise audit.statementTimeout in dbopt.config.json above it.',
    );
  }

  return { budgetMs, budgetSource };
}

/** Literal -- params: rows (enough values for every placeholder) or a -- params-from: sampling SELECT. */
async function paramsOf(
  fileText: string,
  file: string,
  h: Header,
  stmt: SqlStatement,
  placeholders: number,
): Promise<Pick<AuditQuery, 'params' | 'paramsFrom'>> {
  const { lines, values, annotationLines } = h;
  let params: ParamValue[][] | undefined;
  let paramsFrom: AuditQuery['paramsFrom'];
  if (values.params !== undefined && values['params-from'] !== undefined) {
    fail(
      file,
      annotationLines['params-from']!,
      'both "-- params:" and "-- params-from:" are given',
      'Keep one: literal values or a sampling query.',
    );
  }
  if (values.params !== undefined) {
    params = parseParams(values.params, file, annotationLines.params!);
    for (const row of params) {
      if (row.length < placeholders) {
        fail(
          file,
          annotationLines.params!,
          `params give ${row.length} value${row.length === 1 ? '' : 's'} but the statement uses $${placeholders}`,
          `Give ${placeholders} values per row, e.g. -- params: [${Array.from({ length: placeholders }, (_, i) => i + 1).join(', ')}].`,
        );
      }
    }
  } else if (values['params-from'] !== undefined) {
    const sqlText = values['params-from'].replace(/;\s*$/, '');
    const lineNo = annotationLines['params-from']!;
    const lineStart = lines.slice(0, lineNo - 1).reduce((s, l) => s + l.length + 1, 0);
    const valueOffset = lineStart + lines[lineNo - 1]!.indexOf(sqlText);
    const sampling = await parseStatements(sqlText, file, valueOffset, fileText);
    if (sampling.length !== 1 || nodeType(sampling[0]!.node) !== 'SelectStmt' || isWrite(sampling[0]!.node)) {
      fail(
        file,
        lineNo,
        'params-from must be one read-only SELECT',
        'Write e.g. "-- params-from: SELECT bot_id, telegram_id FROM users ORDER BY id LIMIT 50".',
      );
    }
    await refuseAdminCalls(sqlText, valueOffset, fileText, file);
    paramsFrom = { text: sqlText, line: lineNo, offset: valueOffset };
  } else if (placeholders > 0) {
    fail(
      file,
      stmt.line,
      `the statement uses $1..$${placeholders} but the file gives no "-- params:" or "-- params-from:"`,
      'Add "-- params: [...]" (a JSON array of values, or an array of such rows) or "-- params-from: SELECT ..." returning one column per placeholder.',
    );
  }

  return { params, paramsFrom };
}

async function parseStatements(sql: string, file: string, offset: number, fileText: string): Promise<SqlStatement[]> {
  try {
    return await splitStatements(sql, file, offset, fileText);
  } catch (err) {
    if (err instanceof UsageError)
      throw new UsageError(err.message, {
        hint: 'Fix the SQL: dbopt parses each query with the PostgreSQL parser before running it.',
      });
    throw err;
  }
}

/** `-- params:` is JSON: one row `[1, "a"]` or rows `[[1, "a"], [2, "b"]]`. */
export function parseParams(text: string, file: string, line: number): ParamValue[][] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    fail(
      file,
      line,
      `params are not valid JSON: ${(err as Error).message}`,
      'Write a JSON array: -- params: [42, "en"] (or rows: [[1, "en"], [2, "es"]]).',
    );
  }
  if (!Array.isArray(value)) fail(file, line, 'params must be a JSON array', 'Write -- params: [42, "en"].');
  const rows = value.length > 0 && value.every((v) => Array.isArray(v)) ? (value as unknown[][]) : [value as unknown[]];
  return rows.map((row) => row.map(toParam));
}

/** Text form of a parameter: objects become JSON (for jsonb), null stays SQL NULL. */
export function toParam(v: unknown): ParamValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function parseExpect(text: string, file: string, line: number): ExpectFact[] {
  const out: ExpectFact[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const idx = /^index\s+("?)([A-Za-z_][\w$.]*)\1$/.exec(part);
    if (idx) out.push({ kind: 'index', index: idx[2]!.split('.').pop()! });
    else if (part === 'index-only') out.push({ kind: 'index-only' });
    else if (part === 'no-seq-scan') out.push({ kind: 'no-seq-scan' });
    else
      fail(
        file,
        line,
        `unknown expect fact "${part}"`,
        'Known facts: "index NAME", "index-only", "no-seq-scan" (comma-separated).',
      );
  }
  return out;
}

const WRITE_NODES = ['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt'];

function walk(node: unknown, visit: (key: string, value: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit);
  } else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) visit(k, v as Record<string, unknown>);
      walk(v, visit);
    }
  }
}

function isWrite(node: Record<string, unknown>): boolean {
  let writes = WRITE_NODES.includes(nodeType(node));
  walk(node, (k, v) => {
    if (WRITE_NODES.includes(k)) writes = true;
    if (k === 'SelectStmt' && v.intoClause) writes = true;
  });
  return writes;
}

function describeWrite(node: Record<string, unknown>): string {
  const top = nodeType(node);
  if (WRITE_NODES.includes(top)) return top.replace(/Stmt$/, '').toUpperCase();
  if (top === 'SelectStmt' && (node.SelectStmt as Record<string, unknown>)?.intoClause) return 'SELECT INTO';
  return 'a data-modifying WITH';
}

function maxParamRef(node: Record<string, unknown>): number {
  let max = 0;
  walk(node, (k, v) => {
    if (k === 'ParamRef' && typeof v.number === 'number') max = Math.max(max, v.number);
  });
  return max;
}
