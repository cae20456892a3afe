// Safe CREATE INDEX CONCURRENTLY: heal a leftover INVALID index of the same name first, build
// outside any transaction with statement_timeout off, the long build lock budget and tuned
// maintenance settings, verify indisvalid afterwards (an invalid result is dropped and the
// migration fails), then ANALYZE the table where that adds statistics.
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

/** The FROM and WHERE of the queries about index $2 in schema $1, with its table (t) and pg_index row (x). */
const INDEX_BY_NAME = `FROM pg_class AS i
       JOIN pg_namespace AS n ON n.oid = i.relnamespace
       JOIN pg_index AS x ON x.indexrelid = i.oid
       JOIN pg_class AS t ON t.oid = x.indrelid
      WHERE n.nspname = $1
        AND i.relname = $2`;

/**
 * The build's session settings, the table the build is on and the state of an index of that
 * name, in one round trip (the settings' CTE always yields its one row, so they apply even when
 * there is no such table or the index is unnamed).
 */
async function resolveTarget(
  session: MigrationSession,
  stmt: SqlStatement,
): Promise<{ target: BuildTarget; state?: IndexState } | undefined> {
  const b = nodeBody(stmt.node) as { idxname?: string; relation: { schemaname?: string; relname: string } };
  const c = session.build;
  const rel = b.relation.schemaname
    ? `${c.escapeIdentifier(b.relation.schemaname)}.${c.escapeIdentifier(b.relation.relname)}`
    : c.escapeIdentifier(b.relation.relname);
  // An index lives in its table's schema: that is where a leftover of the same name would be.
  const { rows } = await c.query<{
    schema: string | null;
    table: string | null;
    oid: number | null;
    valid: boolean | null;
    unique: boolean | null;
    index_table: string | null;
  }>(
    `WITH settings AS MATERIALIZED (${buildSettingsSelect(3, 'to_regclass($1)')})
     SELECT n.nspname AS schema,
            t.relname AS table,
            x.indexrelid AS oid,
            x.indisvalid AS valid,
            x.indisunique AS unique,
            it.relname AS index_table
       FROM settings
       LEFT JOIN pg_class AS t ON t.oid = to_regclass($1)
       LEFT JOIN pg_namespace AS n ON n.oid = t.relnamespace
       LEFT JOIN pg_index AS x ON x.indexrelid = to_regclass(quote_ident(n.nspname) || '.' || quote_ident($2::text))
       LEFT JOIN pg_class AS it ON it.oid = x.indrelid`,
    [rel, b.idxname ?? null, ...buildSettingsParams(session)],
  );
  session.buildSettings = true;
  const r = rows[0];
  // Unnamed index, or no such table: nothing to heal, PostgreSQL reports.
  if (!b.idxname || !r || r.schema === null || r.table === null) return undefined;
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
       ${INDEX_BY_NAME}`,
    [t.schema, t.index],
  );
  return rows[0];
}

async function buildersOf(
  session: MigrationSession,
  oid: number,
): Promise<{ pid: number; application_name: string }[]> {
  // Asked before the build, while the build connection is idle: it can ask itself.
  const { rows } = await session.build.query<{ pid: number; application_name: string }>(
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

/**
 * The build's session settings as a SELECT, its values bound from parameter $first on (see
 * buildSettingsParams). With `table` (a regclass expression), a table whose heap is known to fit
 * in the session's own maintenance_work_mem keeps it when the configured one is larger: its
 * build gains nothing from more memory, which only lifts PostgreSQL's cap of one parallel worker
 * per 32 MB, so a short build would start workers that cost more than they save. The size is
 * pg_class.relpages (kept by VACUUM, ANALYZE and index builds; no lock taken, unlike
 * pg_relation_size()); 0, never measured, counts as large.
 */
function buildSettingsSelect(first: number, table?: string): string {
  const mwm = `$${first + 1}`;
  const session = `pg_size_bytes(current_setting('maintenance_work_mem'))`;
  const memory = table
    ? `CASE WHEN (SELECT c.relpages::bigint * current_setting('block_size')::bigint
                    FROM pg_class AS c
                   WHERE c.oid = ${table}
                     AND c.relpages > 0) <= ${session}
                 AND pg_size_bytes(${mwm}) > ${session}
                 THEN current_setting('maintenance_work_mem')
                 ELSE ${mwm} END`
    : mwm;
  return `SELECT set_config('statement_timeout', '0', false),
            set_config('lock_timeout', $${first}, false),
            set_config('maintenance_work_mem', ${memory}, false),
            set_config('max_parallel_maintenance_workers', $${first + 2}, false)`;
}

function buildSettingsParams(session: MigrationSession): string[] {
  return [
    `${session.settings.buildLockTimeoutMs}ms`,
    session.settings.maintenanceWorkMem,
    String(session.settings.parallelWorkers),
  ];
}

/** Session settings of a build: no statement_timeout, the long lock budget, tuned memory and workers (one round trip). */
export async function useBuildSettings(session: MigrationSession): Promise<void> {
  await session.build.query(buildSettingsSelect(1), buildSettingsParams(session));
  session.buildSettings = true;
}

/** The statements that bring the build connection back to the settings of ordinary DDL (the value is an integer). */
export function ddlSettingsSql(session: MigrationSession): string {
  const ms = Math.round(session.settings.lockTimeoutMs);
  return `RESET statement_timeout; RESET maintenance_work_mem; RESET max_parallel_maintenance_workers; SET lock_timeout = '${ms}ms';`;
}

/** Back to the settings of ordinary DDL: the short lock budget (one round trip). */
export async function useDdlSettings(session: MigrationSession): Promise<void> {
  await session.build.query(ddlSettingsSql(session));
  session.buildSettings = false;
}

/**
 * Back to the settings of ordinary DDL before anything else runs on the build connection, if a
 * build left its own (a build leaves them in place on success: what follows is usually the
 * migration's record, which takes them back in its own round trip, see sqlLoader).
 */
export async function restoreDdlSettings(session: MigrationSession): Promise<void> {
  if (session.buildSettings) await useDdlSettings(session);
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
    await session.build.query('SELECT pg_cancel_backend($1)', [b.pid]);
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

/** Names of the columns a parse tree refers to (an index's WHERE clause: they are its table's). */
function columnNames(node: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(node)) for (const n of node) columnNames(n, into);
  else if (node && typeof node === 'object') {
    const ref = (node as { ColumnRef?: { fields?: { String?: { sval?: string } }[] } }).ColumnRef;
    const last = ref?.fields?.[ref.fields.length - 1]?.String?.sval;
    if (last !== undefined) into.add(last);
    for (const v of Object.values(node)) columnNames(v, into);
  }
  return into;
}

/**
 * The index after its build, with what decides whether ANALYZE adds anything (one round trip,
 * catalog lookups and the pg_stat_get_* functions only: the pg_stat_user_tables view reads the
 * statistics of every table). The index's columns are its key and INCLUDE columns (indkey) and
 * those its predicate names (from the statement): planning a pg_depend lookup besides pg_stats
 * cost a new session more than the rest of the query.
 */
async function stateAfterBuild(
  session: MigrationSession,
  t: BuildTarget,
  stmt: SqlStatement,
): Promise<(IndexState & AnalyzeFacts) | undefined> {
  const predicate = [...columnNames(nodeBody(stmt.node).whereClause)];
  const { rows } = await session.build.query<IndexState & AnalyzeFacts>(
    `SELECT i.oid,
            x.indisvalid AS valid,
            x.indisunique AS unique,
            t.relname AS table,
            x.indexprs IS NOT NULL AS expressions,
            coalesce(pg_stat_get_last_analyze_time(t.oid), pg_stat_get_last_autoanalyze_time(t.oid)) IS NOT NULL
              AS analyzed,
            pg_stat_get_mod_since_analyze(t.oid) >
              current_setting('autovacuum_analyze_threshold')::float8
              + current_setting('autovacuum_analyze_scale_factor')::float8 * greatest(t.reltuples, 0) AS stale,
            (SELECT array_agg(a.attname::text ORDER BY a.attnum)
               FROM pg_attribute AS a
              WHERE a.attrelid = t.oid
                AND a.attnum > 0
                AND (a.attnum = ANY (x.indkey) OR a.attname = ANY ($3::name[]))
                AND NOT EXISTS (SELECT 1
                                  FROM pg_stats AS st
                                 WHERE st.schemaname = n.nspname
                                   AND st.tablename = t.relname
                                   AND st.attname = a.attname)) AS unanalyzed
       ${INDEX_BY_NAME}`,
    [t.schema, t.index, predicate],
  );
  return rows[0];
}

interface AnalyzeFacts {
  /** The index has expression columns: their statistics come only from a full ANALYZE. */
  expressions: boolean;
  /** The table was analyzed (by hand or by autovacuum) at least once. */
  analyzed: boolean;
  /** Rows changed since the last ANALYZE beyond autovacuum's analyze threshold. */
  stale: boolean;
  /** Columns the index uses (keys, INCLUDE, predicate) that have no statistics. */
  unanalyzed: string[] | null;
}

/**
 * ANALYZE after a build, only where it adds statistics. The planner estimates an index on
 * plain columns (partial or not) from its columns' statistics, and keeps statistics of its own
 * only for expression columns, which only a full ANALYZE of the table gathers. So: a full
 * ANALYZE for an expression index, a table never analyzed or one changed beyond autovacuum's
 * analyze threshold since (what autovacuum would do next, done before the plans need it); the
 * index's columns only when the table is current but some of them have no statistics (a column
 * added since); nothing when all of them have current statistics. Reading the sample is most
 * of an ANALYZE's cost, so a column list saves little: it is used only where it keeps other
 * columns' statistics as they were. https://www.postgresql.org/docs/current/sql-analyze.html
 * Returns the note; the build settings are restored in the same round trip as the ANALYZE.
 */
async function analyzeAfterBuild(session: MigrationSession, t: BuildTarget, after: AnalyzeFacts): Promise<string> {
  const c = session.build;
  const missing = after.unanalyzed ?? [];
  let sql: string;
  let done: string;
  if (after.expressions || !after.analyzed || after.stale) {
    sql = `ANALYZE ${t.tableSql}`;
    done = `analyzed ${t.table}`;
  } else if (missing.length > 0) {
    sql = `ANALYZE ${t.tableSql} (${missing.map((col) => c.escapeIdentifier(col)).join(', ')})`;
    done = `analyzed ${t.table} (${missing.join(', ')})`;
  } else {
    return `${t.table}: the index's columns already have current statistics, no ANALYZE needed`;
  }
  await c.query(`${sql}; ${ddlSettingsSql(session)}`);
  session.buildSettings = false;
  return done;
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
  let ok = false;
  try {
    const resolved = await resolveTarget(session, stmt);
    if (!resolved) {
      session.lastQuery = stmt.text;
      await c.query(stmt.text);
      ok = true;
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
      ok = true;
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
    const after = await stateAfterBuild(session, t, stmt);
    if (!after || !after.valid) {
      await dropConcurrently(session, t).catch(() => undefined);
      throw new FindingsError(`index ${t.index} on ${t.table} finished INVALID and was dropped`, {
        hint: 'Check the server log for the cause, then run dbopt migrate again; the migration was not recorded.',
      });
    }
    note(session, `built ${t.index} in ${Math.round(performance.now() - started)} ms`);
    session.lastQuery = undefined;
    note(session, await analyzeAfterBuild(session, t, after));
    ok = true;
  } finally {
    session.activeBuild = undefined;
    // On success the build settings stay until what runs next needs others (restoreDdlSettings).
    if (!ok && !session.signal?.aborted) await useDdlSettings(session).catch(() => undefined);
  }
}
