// The lint before `dbopt migrate up`, once connected: the migrations this run applies, linted as
// one pending set (a table an earlier one creates is new) and sized by the real tables, so a
// plain index build on a 100-row table is a note while one on a busy table refuses the run.
import type { Client } from 'pg';
import { lintFiles, type LintFinding, type RuleSettings } from './lint/index.js';
import type { SqlMigrationFile } from './sqlFile.js';
import { sizeFindings } from './lint/context.js';

export async function lintPendingSized(
  client: Client,
  pendingFiles: string[],
  opts: { rules?: RuleSettings; parsed?: Map<string, SqlMigrationFile>; smallTable: number; server: string },
): Promise<LintFinding[]> {
  const result = await lintFiles(pendingFiles, {
    rules: opts.rules,
    parsed: opts.parsed,
    pending: new Set(pendingFiles),
  });
  return (await sizeFindings(client, result, opts.smallTable, opts.server)).findings;
}
