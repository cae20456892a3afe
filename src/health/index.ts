// The library behind `dbopt report`: the same health figures as the audit, for a person and
// without a gate. Cache hit ratios since the stats reset, index usage and size, unused and
// duplicate indexes, foreign keys without an index, table basics (size, dead rows, last
// vacuum/analyze), materialized-view staleness from dbopt.refresh_history, and the top
// statements from pg_stat_statements when the extension is installed. Read-only: everything
// runs in one BEGIN READ ONLY envelope with audit.statementTimeout / audit.lockTimeout, and
// sizes of relations another session has locked are skipped (listed in `locked`).
import { refreshTimeline, type RefreshEvent } from './history.js';
import type { Client } from 'pg';
import type { Config } from '../config.js';
import { connect, connectionFailure, isConnectionLost, type ConnectionTarget } from '../db/connection.js';
import { cacheRatios, cacheSnapshot, type RatioRow } from '../catalog/cacheStats.js';
import {
  duplicateIndexes,
  unindexedForeignKeys,
  unscannedIndexes,
  UNUSED_MIN_DAYS,
  type IndexFact,
} from '../catalog/indexes.js';
import { lockedNote, schemaFacts, tableName } from '../catalog/schema.js';
import { serverInfo } from '../catalog/server.js';
import { isManagedView } from '../catalog/views.js';
import { LOCKED_RELATIONS, readOnly, withLockFallback } from '../db/envelope.js';
import { overdueState, scheduleFor } from '../schedule.js';

export interface HealthOptions {
  target: ConnectionTarget;
  audit: Pick<Config['audit'], 'minCacheHitRatio' | 'minBlocks' | 'statementTimeoutMs' | 'lockTimeoutMs'>;
  refresh: Pick<Config['refresh'], 'schedules' | 'defaultSchedule' | 'include' | 'exclude'>;
  /** Rows of the top-statements list. */
  top?: number;
}

export interface IndexUsage {
  index: string;
  table: string;
  scans: number;
  /** null: locked by another session, not read. */
  sizeBytes: number | null;
  unique: boolean;
  valid: boolean;
  /** unused (judged only past 7 days of statistics), duplicate of X, invalid. */
  notes: string[];
}

export interface TableHealth {
  table: string;
  rows: number;
  /** null: locked by another session, not read. */
  sizeBytes: number | null;
  deadRows: number;
  seqScans: number;
  indexScans: number;
  lastVacuum: string | null;
  lastAnalyze: string | null;
}

export interface ViewHealth {
  view: string;
  populated: boolean;
  schedule?: string;
  lastSuccess?: string;
  ageMinutes?: number;
  overdue?: boolean;
  sizeBytes: number | null;
}

export interface TopStatement {
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  rows: number;
  hitRatio: number | null;
}

export interface HealthResult {
  server: string;
  serverVersion: string;
  statsSince: string;
  statsDays: number;
  cache: RatioRow[];
  indexes: IndexUsage[];
  foreignKeysWithoutIndex: string[];
  tables: TableHealth[];
  views: ViewHealth[];
  refreshHistory: boolean;
  /** Refreshes of the last 7 days from dbopt.refresh_history (empty without it), oldest first. */
  refreshTimeline?: RefreshEvent[];
  /** Relations whose size or definition was skipped because another session locked them. */
  locked: string[];
  /** "not judged: ... locked" when `locked` is not empty. */
  lockedNote?: string;
  statements: { available: boolean; reason?: string; top: TopStatement[] };
  /** With a cache section: the Redis tier's figures; `cacheSkipped` says why they are missing. */
  cacheTier?: import('../cache/index.js').CacheTierResult;
  cacheSkipped?: string;
}

export async function health(opts: HealthOptions): Promise<HealthResult> {
  const client = await connect(opts.target);
  try {
    return await readOnly(
      client,
      { statementTimeoutMs: opts.audit.statementTimeoutMs, lockTimeoutMs: opts.audit.lockTimeoutMs },
      () => gather(client, opts),
    );
  } catch (err) {
    if (isConnectionLost(err)) throw connectionFailure(err, opts.target);
    throw err;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function gather(client: Client, opts: HealthOptions): Promise<HealthResult> {
  const server = await serverInfo(client);
  const snapshot = await cacheSnapshot(client);
  const facts = await schemaFacts(client);
  const tables = await tableHealth(client);
  const locked = [...new Set([...facts.locked, ...tables.locked])].sort();
  const statsDays = (Date.parse(facts.now) - Date.parse(facts.statsSince)) / 86_400_000;
  const indexes = indexUsage(facts.indexes, statsDays);
  const now = Date.parse(facts.now);
  const { include, exclude } = opts.refresh;
  const views: ViewHealth[] = facts.views.map((v) => {
    const schedule = isManagedView(v.name, include, exclude) ? scheduleFor(opts.refresh, v.name) : undefined;
    const last = v.lastSuccess ? new Date(v.lastSuccess) : undefined;
    return {
      view: v.name,
      populated: v.populated,
      schedule,
      lastSuccess: v.lastSuccess,
      sizeBytes: v.sizeBytes,
      ageMinutes: last ? Math.round((now - last.getTime()) / 60_000) : undefined,
      overdue: schedule && facts.refreshHistory ? overdueState(schedule, last, new Date(now)).overdue : undefined,
    };
  });
  return {
    server: opts.target.display,
    serverVersion: server.version,
    statsSince: facts.statsSince,
    statsDays,
    cache: cacheRatios(snapshot, undefined, opts.audit.minCacheHitRatio, opts.audit.minBlocks),
    indexes,
    foreignKeysWithoutIndex: unindexedForeignKeys(facts).map(
      (fk) => `${tableName(fk.schema, fk.table)} (${fk.columnNames.join(', ')}) -> ${fk.references}`,
    ),
    tables: tables.rows,
    views,
    refreshHistory: facts.refreshHistory,
    refreshTimeline: facts.refreshHistory ? await refreshTimeline(client) : [],
    locked,
    lockedNote: lockedNote(locked),
    statements: await topStatements(client, opts.top ?? 10),
  };
}

/**
 * Every index with what is wrong with it: invalid (or being built), duplicate of another,
 * unused (judged past UNUSED_MIN_DAYS of statistics, and never dbopt's own: the same filter
 * as the audit's unused-index check).
 */
export function indexUsage(all: IndexFact[], statsDays: number): IndexUsage[] {
  const dupes = duplicateIndexes(all);
  const unscanned = new Set(unscannedIndexes(all));
  return all.map((i) => {
    const notes: string[] = [];
    if (!i.valid) notes.push(i.building ? 'being built' : 'INVALID');
    const dup = dupes.find(([a]) => a === i);
    if (dup) notes.push(`duplicate of ${dup[1].name}`);
    if (unscanned.has(i)) {
      notes.push(statsDays >= UNUSED_MIN_DAYS ? 'unused' : `no scans yet (stats cover ${statsDays.toFixed(1)} d)`);
    }
    const [index, table] = [tableName(i.schema, i.name), tableName(i.schema, i.table)];
    return { index, table, scans: i.scans, sizeBytes: i.sizeBytes, unique: i.unique, valid: i.valid, notes };
  });
}

async function tableHealth(client: Client): Promise<{ rows: TableHealth[]; locked: string[] }> {
  // pg_total_relation_size locks the table: skipped for tables another session has locked.
  const { rows } = await withLockFallback(client, (avoidLocks) =>
    client.query<{
      table: string;
      qualified: string;
      locked: boolean;
      rows: string;
      size: string | null;
      dead: string;
      seq: string;
      idx: string;
      vacuum: Date | null;
      analyze: Date | null;
    }>(
      `WITH ${LOCKED_RELATIONS},
     t AS (
       SELECT s.*,
              ($1 OR s.relid IN (SELECT oid FROM locked)) AS locked
         FROM pg_stat_user_tables AS s
     )
     SELECT CASE WHEN t.schemaname = 'public' THEN t.relname ELSE t.schemaname || '.' || t.relname END AS table,
            t.schemaname || '.' || t.relname AS qualified,
            t.locked,
            greatest(c.reltuples, 0)::bigint AS rows,
            CASE WHEN NOT t.locked THEN pg_total_relation_size(t.relid) END AS size,
            t.n_dead_tup AS dead,
            coalesce(t.seq_scan, 0) AS seq,
            coalesce(t.idx_scan, 0) AS idx,
            greatest(t.last_vacuum, t.last_autovacuum) AS vacuum,
            greatest(t.last_analyze, t.last_autoanalyze) AS analyze
       FROM t
       JOIN pg_class AS c ON c.oid = t.relid
      ORDER BY 5 DESC NULLS LAST, 1
      LIMIT 15`,
      [avoidLocks],
    ),
  );
  return {
    rows: rows.map((r) => ({
      table: r.table,
      rows: Number(r.rows),
      sizeBytes: r.size === null ? null : Number(r.size),
      deadRows: Number(r.dead),
      seqScans: Number(r.seq),
      indexScans: Number(r.idx),
      lastVacuum: r.vacuum?.toISOString() ?? null,
      lastAnalyze: r.analyze?.toISOString() ?? null,
    })),
    locked: rows.filter((r) => r.locked).map((r) => r.qualified),
  };
}

const ENABLE_PGSS =
  'add pg_stat_statements to shared_preload_libraries (restart), then CREATE EXTENSION pg_stat_statements in this database';

async function topStatements(client: Client, limit: number): Promise<HealthResult['statements']> {
  const ext = await client.query<{ schema: string }>(
    `SELECT n.nspname AS schema
       FROM pg_extension AS e
       JOIN pg_namespace AS n ON n.oid = e.extnamespace
      WHERE e.extname = 'pg_stat_statements'`,
  );
  const schema = ext.rows[0]?.schema;
  if (!schema)
    return {
      available: false,
      reason: `pg_stat_statements is not installed in this database: ${ENABLE_PGSS}`,
      top: [],
    };
  try {
    const { rows } = await client.query<{
      query: string;
      calls: string;
      total: number;
      mean: number;
      rows: string;
      hit: string;
      read: string;
    }>(
      `SELECT s.query,
              s.calls,
              s.total_exec_time AS total,
              s.mean_exec_time AS mean,
              s.rows,
              s.shared_blks_hit AS hit,
              s.shared_blks_read AS read
         FROM ${client.escapeIdentifier(schema)}.pg_stat_statements AS s
        WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY s.total_exec_time DESC
        LIMIT $1`,
      [limit],
    );
    return {
      available: true,
      top: rows.map((r) => {
        const hit = Number(r.hit),
          read = Number(r.read);
        return {
          query: r.query.replace(/\s+/g, ' ').trim(),
          calls: Number(r.calls),
          totalMs: Number(r.total),
          meanMs: Number(r.mean),
          rows: Number(r.rows),
          hitRatio: hit + read > 0 ? hit / (hit + read) : null,
        };
      }),
    };
  } catch (err) {
    if (isConnectionLost(err)) throw err;
    return {
      available: false,
      reason: `pg_stat_statements is installed but cannot be read (${(err as Error).message}): ${ENABLE_PGSS}`,
      top: [],
    };
  }
}
