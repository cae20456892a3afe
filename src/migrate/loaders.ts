// The loaders node-pg-migrate calls to turn files into migrations: SQL files split by the
// parser, with statements that cannot run in a transaction run one by one (concurrent index
// builds through build.ts); JS/TS files through node-pg-migrate's own loader, wrapped so a
// pgm.noTransaction() migration's steps take the same safe path. Both record when each
// migration starts, for its timing.
import path from 'node:path';
import {
  mustRunOutsideTransaction,
  nodeType,
  splitStatements,
  takesConcurrentPath,
  type SqlStatement,
} from '../sql/parse.js';
import {
  buildIndexConcurrently,
  ddlSettingsSql,
  isConcurrentIndexBuild,
  restoreDdlSettings,
  useBuildSettings,
  useDdlSettings,
} from './build.js';
import { forgetChecksumStep, recordChecksumStep } from './checksums.js';
import { rel, type Prepared } from './files.js';
import { resetSessionSettings, type MigrationSession } from './session.js';

/** node-pg-migrate loader for .sql files: statements split by the parser; builds run by build.ts. */
export function sqlLoader(session: MigrationSession, prepared: Map<string, Prepared>) {
  return async (filePaths: string[]) =>
    filePaths.map((filePath) => {
      const name = path.basename(filePath, '.sql');
      const p = prepared.get(name);
      const action = (direction: 'up' | 'down') => async (pgm: { noTransaction(): void; sql(s: string): void }) => {
        await beginMigration(session, name);
        const parsed = p?.sql;
        const section = direction === 'up' ? parsed?.up : parsed?.down;
        const stmts = section?.statements ?? [];
        const bookkeeping =
          direction === 'up'
            ? recordChecksumStep(session.build, name, p!.checksum)
            : forgetChecksumStep(session.build, name);
        if (!stmts.some(mustRunOutsideTransaction)) {
          // One transaction (node-pg-migrate's BEGIN/COMMIT) holding the statements, the checksum and the record.
          for (const s of stmts) pgm.sql(`${s.text}\n;`);
          pgm.sql(bookkeeping);
          return;
        }
        pgm.noTransaction();
        for (const s of stmts) await runOutsideTransaction(session, s, parsed!);
        // A lost migrate lock or a signal during the last statement: do not record the migration.
        if (session.signal?.aborted) throw session.signal.reason;
        // A build's settings and the checksum go with node-pg-migrate's record of the migration,
        // in its round trip and its transaction: the record and the checksum commit together.
        const restore = session.buildSettings ? `${ddlSettingsSql(session)} ` : '';
        session.deferred = { name, sql: `${restore}${bookkeeping}` };
        session.buildSettings = false;
      };
      const actions = { up: action('up'), down: p?.sql?.down ? action('down') : false };
      return { id: filePath, filePaths: [filePath], actions };
    });
}

/** One statement of a migration that runs outside a transaction (SQL file, or a JS migration's rendered steps). */
export async function runOutsideTransaction(
  session: MigrationSession,
  stmt: SqlStatement,
  source: { file: string; text: string },
): Promise<void> {
  if (session.signal?.aborted) throw session.signal.reason;
  await runOneOutside(session, stmt, source);
  // What ran stays applied if a later statement fails: from here on, no retry from the start.
  if (nodeType(stmt.node) !== 'VariableSetStmt') session.partial = true;
}

async function runOneOutside(
  session: MigrationSession,
  stmt: SqlStatement,
  source: { file: string; text: string },
): Promise<void> {
  if (isConcurrentIndexBuild(stmt)) {
    await buildIndexConcurrently(session, stmt, { file: source.file, fileText: source.text });
    return;
  }
  await restoreDdlSettings(session);
  if (takesConcurrentPath(stmt)) {
    // DROP INDEX / REINDEX / DETACH PARTITION CONCURRENTLY wait for older transactions like a
    // build does. VACUUM (FULL) and CREATE/DROP DATABASE also run outside a transaction but keep
    // the ordinary DDL lock budget: they queue everyone behind their lock while they wait.
    await useBuildSettings(session);
    try {
      session.lastQuery = stmt.text;
      await session.build.query(stmt.text);
    } finally {
      if (!session.signal?.aborted) await useDdlSettings(session);
    }
    return;
  }
  session.lastQuery = stmt.text;
  await session.build.query(stmt.text);
}

const starts = new WeakMap<MigrationSession, Map<string, number>>();

/** When each migration of the session started (performance.now()), by name. */
export function migrationStarts(session: MigrationSession): Map<string, number> {
  return starts.get(session) ?? new Map<string, number>();
}

function markStart(session: MigrationSession, name: string): void {
  const m = starts.get(session) ?? new Map<string, number>();
  m.set(name, performance.now());
  starts.set(session, m);
}

/**
 * Start of a migration's action. node-pg-migrate calls it before its own BEGIN, so the build
 * connection is idle outside a transaction here: reset the SETs an earlier migration left.
 */
async function beginMigration(session: MigrationSession, name: string): Promise<void> {
  if (session.signal?.aborted) throw session.signal.reason;
  // node-pg-migrate goes on to this migration only once it recorded the last one: a bookkeeping
  // still deferred means that record went by in words runnerClient did not know; it follows now.
  const deferred = session.deferred;
  session.deferred = undefined;
  if (deferred) await session.build.query(deferred.sql);
  session.current = name;
  session.partial = false;
  markStart(session, name);
  // The run's first migration finds the settings as the run applied them (nothing ran since).
  if (session.settingsFresh) session.settingsFresh = false;
  else await resetSessionSettings(session);
}

interface Builder {
  isUsingTransaction(): boolean;
  getSqlSteps(): string[];
  /** node-pg-migrate's pending steps (a plain field of MigrationBuilder). */
  _steps?: string[];
}

/**
 * A JS/TS migration with pgm.noTransaction(): take the steps it rendered away from
 * node-pg-migrate and run them like a SQL file outside a transaction, so concurrent builds get
 * the build lock budget, healing, the indisvalid check and ANALYZE. node-pg-migrate then only
 * records the migration.
 */
async function runJsOutsideTransaction(session: MigrationSession, pgm: Builder, file: string): Promise<void> {
  if (pgm.isUsingTransaction() || !Array.isArray(pgm._steps)) return;
  const steps = [...pgm.getSqlSteps()];
  pgm._steps = [];
  const display = `${rel(file)} (rendered SQL)`;
  for (const step of steps) {
    for (const stmt of await splitStatements(step, display, 0, step)) {
      await runOutsideTransaction(session, stmt, { file: display, text: step });
    }
  }
  if (session.signal?.aborted) throw session.signal.reason;
  await restoreDdlSettings(session);
}

/** The default loader for JS/TS, wrapped to know which migration runs (for messages and timing). */
export function jsLoader(session: MigrationSession, jiti: { import(p: string): Promise<unknown> }) {
  type Action = ((pgm: unknown, done?: () => void) => unknown) | false | undefined;
  const wrap = (name: string, file: string, action: Action): Action => {
    if (typeof action !== 'function') return action;
    return async (pgm: unknown) => {
      await beginMigration(session, name);
      if (action.length === 2) await new Promise<void>((resolve) => void action(pgm, resolve));
      else await action(pgm);
      await runJsOutsideTransaction(session, pgm as Builder, file);
    };
  };
  return async (filePaths: string[]) => {
    const units = [];
    for (const filePath of filePaths) {
      const mod = (await jiti.import(filePath)) as { up?: Action; down?: Action; shorthands?: unknown };
      const name = path.basename(filePath, path.extname(filePath));
      const up = wrap(name, filePath, mod.up);
      const down = mod.down === undefined ? undefined : wrap(name, filePath, mod.down);
      units.push({ id: filePath, filePaths: [filePath], actions: { up, down, shorthands: mod.shorthands } });
    }
    return units;
  };
}
