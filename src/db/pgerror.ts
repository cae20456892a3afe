// Formats PostgreSQL errors in full: severity, code, message, detail, hint, and where a
// `position` is given, file:line:column of the source with a caret under the spot.
import { UnresponsiveError } from './deadline.js';
import { redact } from '../redact.js';

export interface PgErrorLike {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  position?: string;
  where?: string;
  severity?: string;
}

export function isPgError(err: unknown): err is PgErrorLike {
  // dbopt's own "server stopped answering" carries SQLSTATE 08006 but is no server error.
  if (err instanceof UnresponsiveError) return false;
  return (
    typeof err === 'object' &&
    err !== null &&
    'code' in err &&
    typeof (err as { code?: unknown }).code === 'string' &&
    /^[0-9A-Z]{5}$/.test((err as { code: string }).code)
  );
}

export interface SourceSpan {
  file: string;
  /** The text as sent to the server. */
  text: string;
  /** Offset of `text` inside the file, in characters, to map positions back. */
  offsetInFile?: number;
  /** The full file contents, when `text` is a slice of it. */
  fileText?: string;
}

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

export function formatPgError(err: PgErrorLike, source?: SourceSpan, secrets: string[] = []): string[] {
  const out: string[] = [];
  const head = `${err.severity ?? 'ERROR'}${err.code ? ` ${err.code}` : ''}: ${err.message}`;
  if (source && err.position) {
    const pos = Number(err.position) - 1;
    const fileText = source.fileText ?? source.text;
    const abs = (source.offsetInFile ?? 0) + pos;
    const { line, column } = lineColumn(fileText, abs);
    out.push(`${source.file}:${line}:${column}: ${head}`);
    const lineText = fileText.split('\n')[line - 1] ?? '';
    out.push(`  ${lineText}`);
    out.push(`  ${' '.repeat(Math.max(0, column - 1))}^`);
  } else {
    out.push(source ? `${source.file}: ${head}` : head);
  }
  if (err.detail) out.push(`DETAIL: ${err.detail}`);
  if (err.hint) out.push(`HINT: ${err.hint}`);
  if (err.where) out.push(`CONTEXT: ${err.where}`);
  return out.map((l) => redact(l, secrets));
}
