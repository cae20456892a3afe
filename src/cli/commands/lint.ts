// dbopt migrate lint [files or directories...]: flags -> lintFiles -> (with a connection) sized by
// the real tables -> report; exit 1 on errors.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../errors.js';
import { connect } from '../../db/connection.js';
import { appliedMigrations, listMigrationFiles } from '../../migrate/index.js';
import { lintFiles, lintReport, type LintResult } from '../../migrate/lint/index.js';
import { sizeFindings } from '../../migrate/lint/context.js';
import { commandContext, emit, withDb, type GlobalOptions } from '../context.js';

/** Files to lint: each argument a migration file or a directory of them (linted like --dir). */
function targetsOf(args: string[], defaultDir: string): string[] {
  if (args.length === 0) return listMigrationFiles(defaultDir).map((f) => f.file);
  const absent = args.filter((f) => !existsSync(path.resolve(f)));
  if (absent.length > 0) {
    throw new UsageError(`no such migration file or directory: ${absent.join(', ')}`, {
      hint: 'Pass existing .sql/.js/.ts files or migration directories, or nothing to lint migrate.dir.',
    });
  }
  return args.flatMap((a) => {
    const abs = path.resolve(a);
    return statSync(abs).isDirectory() ? listMigrationFiles(abs).map((f) => f.file) : [abs];
  });
}

export async function runLintCommand(opts: GlobalOptions, files: string[]): Promise<void> {
  const overrides = { 'migrate.dir': opts.dir };
  const ctx = await commandContext(opts, overrides);
  const m = ctx.config.migrate;
  const targets = targetsOf(files, ctx.resolvePath(m.dir));
  // A connection only when one is asked for (never PG* variables alone): the lint itself needs none.
  const sized = Boolean(opts.databaseUrl || opts.embedded || process.env.DATABASE_URL || ctx.config.database.url);
  let result: LintResult;
  if (!sized) {
    result = await lintFiles(targets, { rules: m.lintRules });
  } else {
    result = await withDb(opts, overrides, async (db) => {
      const client = await connect(db.target);
      try {
        const applied = new Set((await appliedMigrations(client)).map((a) => a.name));
        const pending = new Set(targets.filter((t) => !applied.has(path.basename(t, path.extname(t)))));
        const linted = await lintFiles(targets, { rules: m.lintRules, pending });
        return await sizeFindings(client, linted, m.lintSmallTable, db.target.display);
      } finally {
        await client.end().catch(() => undefined);
      }
    });
  }
  process.exitCode = await emit(lintReport(result), opts);
}
