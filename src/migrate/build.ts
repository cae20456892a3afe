// Safe CREATE INDEX CONCURRENTLY: heal a leftover INVALID index of the same name first, build
// outside any transaction with statement_timeout off, the long build lock budget and tuned
// maintenance settings, verify indisvalid afterwards (an invalid result is dropped and the
// migration fails), then ANALYZE the table.
// https://www.postgresql.org/docs/current/sql-createindex.html#SQL-CREATEINDEX-CONCURRENTLY
import { FindingsError, BusyError } from '../errors.js';
import { formatPgError, isPgError } from '../db/pgerror.js';
import { nodeBody, nodeType, type SqlStatement } from '../sql/parse.js';
import { describeBlockers, note, type MigrationSession } from './session.js';
import { sleep } from './wait.js';

interface IndexState {
  oid: number;
  valid: boolean;
  unique: boolean;
  table: string;
}

interface BuildTarget {
  schema: string;
  index: string;
  /** schema.table, quoted for SQL. */
  tableSql: string;
  table: string;
}

export function isConcurrentIndexBuild(stmt: SqlStatement): boolean {
  return nodeType(stmt.node) === 'IndexStmt' && Boolean(nodeBody(stmt.node).concurrent);
}

/** The table the build is on, and the state of an index of that name, in one round trip. */
async function resolveTarget(
  session: MigrationSession,
  stmt: SqlStatement,
): Promise<{ target: BuildTarget; state?: IndexState } | undefined> {
  const b = nodeBody(stmt.node) as { idxname?: string; relation: { schemaname?: string; relname: string } };
  if (!b.idxname) return undefined;
  const c = session.build;
  const rel = b.relation.schemaname
    ? `${c.escapeIdentifier(b.relation.schemaname)}.${c.escapeIdentifier(b.relation.relname)}`
    : c.escapeIdentifier(b.relation.relname);
  // An index lives in its table's schema: that is where a leftover of the same name would be.
  const { rows } = await c.query<{
    schema: string;
    table: string;
    oid: number | null;
    valid: boolean | null;
    unique: boolean | null;
    index_table: string | null;
  }>(
    `SELECT n.nspname AS schema,
            t.relname AS table,
            x.indexrelid AS oid,
            x.indisvalid AS valid,
            x.indisunique AS unique,
            it.relname AS index_table
       FROM pg_class AS t
       JOIN pg_namespace AS n ON n.oid = t.relnamespace
       LEFT JOIN pg_class AS i ON i.relnamespace = t.relnamespace AND i.relname = $2
       LEFT JOIN pg_index AS x ON x.indexrelid = i.oid
       LEFT JOIN pg_class AS it ON it.oid = x.indrelid
      WHERE t.oid = to_regclass($1)`,
    [rel, b.idxname],
  );
  const r = rows[0];
  if (!r) return undefined; // no such table: let PostgreSQL say so
  const target = {
    schema: r.schema,
    index: b.idxname,
    table: `${r.schema}.${r.table}`,
    tableSql: `${c.escapeIdentifier(r.schema)}.${c.escapeIdentifier(r.table)}`,
  };
  const state =
    r.oid === null
      ? undefined
      : { oid: r.oid, valid: Boolean(r.valid), unique: Boolean(r.unique), table: r.index_table ?? r.table };
  return { target, state };
}

async function indexState(session: MigrationSession, t: BuildTarget): Promise<IndexState | undefined> {
  const { rows } = await session.build.query<{ oid: number; valid: boolean; unique: boolean; table: string }>(
    `SELECT i.oid,
            x.indisvalid AS valid,
            x.indisunique AS unique,
            t.relname AS table
       FROM pg_class AS i
       JOIN pg_namespace AS n ON n.oid = i.relnamespace
       JOIN pg_index AS x ON x.indexrelid = i.oid
       JOIN pg_class AS t ON t.oid = x.indrelid
      WHERE n.nspname = $1
        AND i.relname = $2`,
    [t.schema, t.index],
  );
  return rows[0];
}

async function buildersOf(
  session: MigrationSession,
  oid: number,
): Promise<{ pid: number; application_name: string }[]> {
  const { rows } = await session.lock.query<{ pid: number; application_name: string }>(
    `SELECT p.pid,
            a.application_name
       FROM pg_stat_progress_create_index AS p
       JOIN pg_stat_activity AS a ON a.pid = p.pid
      WHERE p.index_relid = $1
        AND p.pid <> $2`,
    [oid, session.buildPid],
  );
  return rows;
}

function indexSql(session: MigrationSession, t: BuildTarget): string {
  return `${session.build.escapeIdentifier(t.schema)}.${session.build.escapeIdentifier(t.index)}`;
}

/** Session settings of a build: no statement_timeout, the long lock budget, tuned memory and workers (one round trip). */
export async function useBuildSettings(session: MigrationSession): Promise<void> {
  await session.build.query(
    `SELECT set_config('statement_timeout', '0', false),
            set_config('lock_timeout', $1, false),
            set_config('maintenance_work_mem', $2, false),
            set_config('max_parallel_maintenance_workers', $3, false)`,
    [
      `${session.settings.buildLockTimeoutMs}ms`,
      session.settings.maintenanceWorkMem,
      String(session.settings.parallelWorkers),
    ],
  );
}

/** Back to the settings of ordinary DDL: the short lock budget (one round trip; the value is an integer). */
export async function useDdlSettings(session: MigrationSession): Promise<void> {
  const ms = Math.round(session.settings.lockTimeoutMs);
  await session.build.query(
    `RESET statement_timeout; RESET maintenance_work_mem; RESET max_parallel_maintenance_workers; SET lock_timeout = '${ms}ms'`,
  );
}

async function dropConcurrently(session: MigrationSession, t: BuildTarget): Promise<void> {
  session.lastQuery = undefined;
  await session.build.query(`DROP INDEX CONCURRENTLY IF EXISTS ${indexSql(session, t)}`);
}

/** An INVALID index of this name that nobody is building now is dropped; one being built by someone else is waited for or refused. */
async function healLeftover(session: MigrationSession, t: BuildTarget, state: IndexState): Promise<void> {
  let builders = await buildersOf(session, state.oid);
  // We hold the migrate lock, so a dbopt session still building this index is an orphan of a
  // migrator that died (its server process outlives its client): cancel it.
  for (const b of builders.filter((x) => x.application_name.startsWith('dbopt'))) {
    session.logger.warn(
      `${t.index}: cancelling the build left running by a dbopt migrator that went away (pid ${b.pid})`,
    );
    await session.lock.query('SELECT pg_cancel_backend($1)', [b.pid]);
  }
  for (let i = 0; i < 120 && builders.some((x) => x.application_name.startsWith('dbopt')); i++) {
    await sleep(250, session.signal);
    builders = await buildersOf(session, state.oid);
  }
  if (builders.length > 0) {
    throw new BusyError(
      `index ${t.index} on ${t.table} is being built right now by pid ${builders[0]!.pid} (application_name "${builders[0]!.application_name}")`,
      {
        hint: 'Let that build finish (or cancel it), then run dbopt migrate again.',
      },
    );
  }
  const again = await indexState(session, t);
  if (!again || again.valid) return;
  const urgent = again.unique ? ' URGENT: an invalid UNIQUE index still rejects duplicate writes while it exists.' : '';
  session.logger.warn(
    `${t.index} on ${t.table} is INVALID (an earlier build failed or was interrupted): dropping it concurrently and building it again.${urgent}`,
  );
  try {
    await dropConcurrently(session, t);
  } catch (err) {
    if (session.signal?.aborted) throw session.signal.reason;
    throw new FindingsError(
      `could not drop the INVALID ${again.unique ? 'UNIQUE ' : ''}index ${t.index} on ${t.table}${urgent}`,
      {
        details: isPgError(err) ? formatPgError(err) : [String(err)],
        hint: `Run DROP INDEX CONCURRENTLY ${t.schema}.${t.index}; when nothing holds a lock on ${t.table}, then dbopt migrate again.`,
      },
    );
  }
  note(session, `dropped leftover INVALID index ${t.index}`);
}

/** The index after its build, with what decides whether ANALYZE adds anything (one round trip). */
async function stateAfterBuild(
  session: MigrationSession,
  t: BuildTarget,
): Promise<(IndexState & AnalyzeFacts) | undefined> {
  const { rows } = await session.build.query<IndexState & AnalyzeFacts>(
    `SELECT i.oid,
            x.indisvalid AS valid,
            x.indisunique AS unique,
            t.relname AS table,
            x.indexprs IS NOT NULL AS expressions,
            coalesce(s.last_analyze, s.last_autoanalyze) IS NOT NULL AS analyzed,
            (SELECT array_agg(a.attname::text ORDER BY k.n)
               FROM unnest(x.indkey[0:x.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, n)
               JOIN pg_attribute AS a ON a.attrelid = x.indrelid AND a.attnum = k.attnum
              WHERE k.attnum > 0) AS columns
       FROM pg_class AS i
       JOIN pg_namespace AS n ON n.oid = i.relnamespace
       JOIN pg_index AS x ON x.indexrelid = i.oid
       JOIN pg_class AS t ON t.oid = x.indrelid
       LEFT JOIN pg_stat_user_tables AS s ON s.relid = x.indrelid
      WHERE n.nspname = $1
        AND i.relname = $2`,
    [t.schema, t.index],
  );
  return rows[0];
}

interface AnalyzeFacts {
  expressions: boolean;
  analyzed: boolean;
  columns: string[] | null;
}

/**
 * ANALYZE after a build. PostgreSQL keeps statistics per index only for expression columns, so
 * those (and a table never analyzed) get a full ANALYZE; a plain-column index gets its key
 * columns analyzed, which is cheap and keeps their statistics current for the plans the index
 * was built for (skipping it left a GIN index planned from stale statistics: its estimated cost
 * rose 35x on the reference workload). https://www.postgresql.org/docs/current/sql-analyze.html
 */
async function analyzeAfterBuild(session: MigrationSession, t: BuildTarget, after: AnalyzeFacts): Promise<string> {
  const c = session.build;
  if (after.expressions || !after.analyzed || !after.columns?.length) {
    await c.query(`ANALYZE ${t.tableSql}`);
    return `analyzed ${t.table}`;
  }
  await c.query(`ANALYZE ${t.tableSql} (${after.columns.map((col) => c.escapeIdentifier(col)).join(', ')})`);
  return `analyzed ${t.table} (${after.columns.join(', ')})`;
}

/**
 * Build one CREATE INDEX CONCURRENTLY statement safely. Returns normally once the index is
 * valid and the table analyzed; throws FindingsError (index, table, cause) otherwise.
 */
export async function buildIndexConcurrently(
  session: MigrationSession,
  stmt: SqlStatement,
  source: { file: string; fileText: string },
): Promise<void> {
  const c = session.build;
  await useBuildSettings(session);
  try {
    const resolved = await resolveTarget(session, stmt);
    if (!resolved) {
      // Unnamed index, or a table that does not exist: nothing to heal, PostgreSQL reports.
      session.lastQuery = stmt.text;
      await c.query(stmt.text);
      return;
    }
    const t = resolved.target;
    const before = resolved.state;
    if (before && !before.valid) await healLeftover(session, t, before);
    const existing = before?.valid ? before : undefined;
    if (existing) {
      // Built by an earlier run that died before recording it, or by hand: adopt it rather than
      // fail on "already exists" (GitLab's add_concurrent_index does the same).
      if (!nodeBody(stmt.node).if_not_exists)
        session.logger.warn(
          `${t.index} already exists on ${t.table} and is valid: recording the migration without building it again.`,
        );
      note(session, `${t.index} already existed and is valid: kept`);
      return;
    }
    session.activeBuild = { index: t.index, table: t.table };
    session.blockers.clear();
    const started = performance.now();
    try {
      session.lastQuery = stmt.text;
      await c.query(stmt.text);
    } catch (err) {
      session.activeBuild = undefined;
      session.logger.progressDone?.();
      if (session.signal?.aborted) throw session.signal.reason; // the rerun heals what is left
      const after = await indexState(session, t).catch(() => undefined);
      let cleanup = '';
      if (after && !after.valid) {
        try {
          await dropConcurrently(session, t);
          cleanup = ' The INVALID index it left was dropped.';
        } catch {
          cleanup = after.unique
            ? ' URGENT: the INVALID UNIQUE index it left could not be dropped and still rejects duplicate writes.'
            : ' The INVALID index it left could not be dropped; the next run drops it.';
        }
      }
      const details = isPgError(err)
        ? formatPgError(err, {
            file: err.position ? source.file : `${source.file}:${stmt.line}:1`,
            text: stmt.text,
            offsetInFile: stmt.offset,
            fileText: source.fileText,
          })
        : [String(err)];
      const timedOut = isPgError(err) && err.code === '55P03';
      if (timedOut && session.blockers.size > 0)
        details.push('blocked by:', ...describeBlockers(session.blockers.values()).map((l) => `  ${l}`));
      throw new FindingsError(
        `index ${t.index} on ${t.table} was not built: ${err instanceof Error ? err.message : String(err)}.${cleanup}`,
        {
          details,
          hint: timedOut
            ? `End the blocking transactions (or raise migrate.buildLockTimeout), then run dbopt migrate again.`
            : `Fix the cause above and run dbopt migrate again; the migration was not recorded.`,
        },
      );
    }
    session.activeBuild = undefined;
    session.logger.progressDone?.();
    const after = await stateAfterBuild(session, t);
    if (!after || !after.valid) {
      await dropConcurrently(session, t).catch(() => undefined);
      throw new FindingsError(`index ${t.index} on ${t.table} finished INVALID and was dropped`, {
        hint: 'Check the server log for the cause, then run dbopt migrate again; the migration was not recorded.',
      });
    }
    note(session, `built ${t.index} in ${Math.round(performance.now() - started)} ms`);
    session.lastQuery = undefined;
    note(session, await analyzeAfterBuild(session, t, after));
  } finally {
    session.activeBuild = undefined;
    if (!session.signal?.aborted) await useDdlSettings(session).catch(() => undefined);
  }
}
