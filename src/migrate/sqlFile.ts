// Reads node-pg-migrate SQL migration files ("-- Up Migration" / "-- Down Migration") and
// splits each section into statements with the parser (sql/parse.ts), keeping each
// statement's line so errors and lint findings point into the file.
import { readFileSync } from 'node:fs';
import { splitStatements, type SqlStatement } from '../sql/parse.js';

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

export async function readSqlMigration(file: string, displayName = file): Promise<SqlMigrationFile> {
  const text = readFileSync(file, 'utf8');
  const upAt = text.search(sectionRegex('up'));
  const downAt = text.search(sectionRegex('down'));
  const upStart = upAt >= 0 ? upAt : 0;
  const upEnd = downAt > upStart ? downAt : text.length;
  const upText = text.slice(upStart, upEnd);
  const up: SqlSection = {
    text: upText,
    offset: upStart,
    statements: await splitStatements(upText, displayName, upStart, text),
  };
  let down: SqlSection | undefined;
  if (downAt >= 0) {
    const downEnd = upAt > downAt ? upAt : text.length;
    const downText = text.slice(downAt, downEnd);
    down = { text: downText, offset: downAt, statements: await splitStatements(downText, displayName, downAt, text) };
  }
  return { file: displayName, text, up, down };
}
