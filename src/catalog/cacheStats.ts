// Cache hit ratios of the database, its tables and its indexes: a snapshot of
// pg_stat_database / pg_statio_user_tables / pg_statio_user_indexes before and after the
// audit gives the delta over the run; the after-snapshot alone is the figure since the last
// stats reset. Statistics reach these views when a backend flushes them (at most about once a
// second), so the audit forces its own flush (pg_stat_force_next_flush, PostgreSQL 15+).
// A ratio is judged only past a minimum number of blocks: a fresh CI database has too few.
// https://www.postgresql.org/docs/current/monitoring-stats.html
import type { Client } from 'pg';

export interface Blocks {
  hit: number;
  read: number;
}

export interface CacheSnapshot {
  database: Blocks;
  statsReset: string | null;
  tables: Record<string, Blocks>;
  indexes: Record<string, Blocks>;
}

export type Verdict = 'ok' | 'low' | 'not enough data';

export interface Ratio extends Blocks {
  /** hit / (hit + read); null when no block was touched. */
  ratio: number | null;
  verdict: Verdict;
}

export interface RatioRow {
  scope: 'database' | 'table' | 'index';
  name: string;
  delta?: Ratio;
  cumulative: Ratio;
}

export function judge(b: Blocks, minRatio: number, minBlocks: number): Ratio {
  const total = b.hit + b.read;
  const ratio = total > 0 ? b.hit / total : null;
  const verdict: Verdict =
    total < Math.max(1, minBlocks) || ratio === null ? 'not enough data' : ratio < minRatio ? 'low' : 'ok';
  return { hit: b.hit, read: b.read, ratio, verdict };
}

/** Ask this backend to flush its pending statistics at the end of the statement (PG15+). */
export async function flushStats(client: Client, versionNum: number): Promise<void> {
  if (versionNum >= 150000) await client.query('SELECT pg_stat_force_next_flush()');
  await client.query('SELECT pg_stat_clear_snapshot()');
}

export async function cacheSnapshot(client: Client): Promise<CacheSnapshot> {
  const db = await client.query<{ hit: string; read: string; stats_reset: Date | null }>(
    `SELECT blks_hit AS hit,
            blks_read AS read,
            stats_reset
       FROM pg_stat_database
      WHERE datname = current_database()`,
  );
  const tables = await client.query<{ name: string; hit: string; read: string }>(
    `SELECT quote_ident(schemaname) || '.' || quote_ident(relname) AS name,
            coalesce(heap_blks_hit, 0) + coalesce(idx_blks_hit, 0) AS hit,
            coalesce(heap_blks_read, 0) + coalesce(idx_blks_read, 0) AS read
       FROM pg_statio_user_tables`,
  );
  const indexes = await client.query<{ name: string; hit: string; read: string }>(
    `SELECT quote_ident(schemaname) || '.' || quote_ident(indexrelname) AS name,
            coalesce(idx_blks_hit, 0) AS hit,
            coalesce(idx_blks_read, 0) AS read
       FROM pg_statio_user_indexes`,
  );
  const map = (rows: { name: string; hit: string; read: string }[]): Record<string, Blocks> =>
    Object.fromEntries(rows.map((r) => [r.name, { hit: Number(r.hit), read: Number(r.read) }]));
  const d = db.rows[0];
  return {
    database: { hit: Number(d?.hit ?? 0), read: Number(d?.read ?? 0) },
    statsReset: d?.stats_reset ? d.stats_reset.toISOString() : null,
    tables: map(tables.rows),
    indexes: map(indexes.rows),
  };
}

const minus = (a: Blocks, b: Blocks | undefined): Blocks => ({
  hit: Math.max(0, a.hit - (b?.hit ?? 0)),
  read: Math.max(0, a.read - (b?.read ?? 0)),
});

/**
 * Rows for the database and for the `limit` busiest tables and indexes (by blocks touched
 * during the run when `before` is given, else since the stats reset).
 */
export function cacheRatios(
  after: CacheSnapshot,
  before: CacheSnapshot | undefined,
  minRatio: number,
  minBlocks: number,
  limit = 5,
): RatioRow[] {
  const rows: RatioRow[] = [
    {
      scope: 'database',
      name: 'database',
      delta: before ? judge(minus(after.database, before.database), minRatio, minBlocks) : undefined,
      cumulative: judge(after.database, minRatio, minBlocks),
    },
  ];
  for (const scope of ['table', 'index'] as const) {
    const now = scope === 'table' ? after.tables : after.indexes;
    const then = before ? (scope === 'table' ? before.tables : before.indexes) : undefined;
    const entries = Object.entries(now).map(([name, b]) => ({ name, b, d: then ? minus(b, then[name]) : undefined }));
    const weight = (e: (typeof entries)[number]): number => (e.d ? e.d.hit + e.d.read : 0) * 1e12 + e.b.hit + e.b.read;
    entries.sort((x, y) => weight(y) - weight(x) || x.name.localeCompare(y.name));
    for (const e of entries.slice(0, limit)) {
      if (e.b.hit + e.b.read === 0) continue;
      rows.push({
        scope,
        name: e.name,
        delta: e.d ? judge(e.d, minRatio, minBlocks) : undefined,
        cumulative: judge(e.b, minRatio, minBlocks),
      });
    }
  }
  return rows;
}
