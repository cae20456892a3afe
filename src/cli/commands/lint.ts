// dbopt migrate lint [files...]: flags -> lintFiles (no connection) -> report; exit 1 on errors.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { listMigrationFiles } from '../../migrate/index.js';
import { lintFiles, lintReport } from '../../migrate/lint/index.js';
import { commandContext, emit, type GlobalOptions } from '../context.js';

export async function runLintCommand(opts: GlobalOptions, files: string[]): Promise<void> {
  const ctx = await commandContext(opts, { 'migrate.dir': opts.dir });
  const targets = files.length > 0 ? files.map((f) => path.resolve(f)) : listMigrationFiles(ctx.resolvePath(ctx.config.migrate.dir)).map((f) => f.file);
  const absent = targets.filter((f) => !existsSync(f));
  if (absent.length > 0) throw new UsageError(`no such migration file: ${absent.map((f) => path.relative(process.cwd(), f)).join(', ')}`, { hint: 'Pass existing .sql/.js/.ts files, or no file to lint the whole migrations directory.' });
  const result = await lintFiles(targets);
  process.exitCode = await emit(lintReport(result), opts);
}
