// The catalog facts behind the schema checks and `dbopt report`: every user index (validity,
// key and INCLUDE columns, sort options, collations, predicate, usage, size), foreign keys,
// materialized views with their last successful refresh from dbopt.refresh_history (written by
// dbopt refresh-views), and how long the usage statistics have been collecting. One read-only
// query per question, run by the caller inside the read-only envelope (db/envelope.ts).
// Sizes and index definitions take an ACCESS SHARE lock on the relation: they are skipped for
// relations another session holds or awaits an ACCESS EXCLUSIVE lock on, and listed in
// `locked`. Predicates and expressions are compared as parse trees (no lock needed).
import type { Client } from 'pg';
import { LOCKED_RELATIONS, withLockFallback } from '../db/envelope.js';
import type { ForeignKeyFact, IndexFact } from './indexes.js';

export type { ForeignKeyFact, IndexFact } from './indexes.js';

export interface ViewFact {
  /** schema.view as written in config and dbopt.refresh_history. */
  name: string;
  populated: boolean;
  /** null when the view is locked by another session (a plain REFRESH, for one). */
  sizeBytes: number | null;
  /** started_at of the last successful refresh: the data is as of then (as refresh-views reads it). */
  lastSuccess?: string;
  lastDurationMs?: number;
  lastOutcome?: string;
  lastAttempt?: string;
}

export interface SchemaFacts {
  now: string;
  /** Since when idx_scan has been counting: the stats reset, else the server start. */
  statsSince: string;
  indexes: IndexFact[];
  foreignKeys: ForeignKeyFact[];
  views: ViewFact[];
  /** False when dbopt.refresh_history does not exist (dbopt refresh-views never ran here). */
  refreshHistory: boolean;
  /** Relations whose size or definition was not read: another session holds or awaits an ACCESS EXCLUSIVE lock on them. */
  locked: string[];
}

const USER_SCHEMAS = `NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;

export async function schemaFacts(client: Client): Promise<SchemaFacts> {
  const meta = await client.query<{ now: Date; since: Date }>(
    `SELECT now() AS now,
            coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()), pg_postmaster_start_time()) AS since`,
  );
  // parse trees without the token positions, so equal expressions written differently compare equal
  const tree = (col: string): string => `regexp_replace(${col}::text, ' :location -?[0-9]+', '', 'g')`;
  const idx = await withLockFallback(client, (avoidLocks) =>
    client.query<{
      schema: string;
      table: string;
      name: string;
      keys: string;
      opclasses: string;
      options: string;
      collations: string;
      nkeys: number;
      method: string;
      unique: boolean;
      nulls_not_distinct: boolean;
      primary: boolean;
      constraint: boolean;
      valid: boolean;
      building: boolean;
      predicate: string | null;
      expressions: string | null;
      scans: string;
      size: string | null;
      definition: string | null;
      key_names: string[];
      locked_name: string | null;
      partition_of: string | null;
    }>(
      `WITH ${LOCKED_RELATIONS}
     SELECT n.nspname AS schema,
            t.relname AS table,
            c.relname AS name,
            i.indkey::text AS keys,
            i.indclass::text AS opclasses,
            i.indoption::text AS options,
            i.indcollation::text AS collations,
            i.indnkeyatts AS nkeys,
            am.amname AS method,
            i.indisunique AS unique,
            coalesce((to_jsonb(i) ->> 'indnullsnotdistinct')::boolean, false) AS nulls_not_distinct,
            i.indisprimary AS primary,
            EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) AS constraint,
            i.indisvalid AS valid,
            EXISTS (SELECT 1 FROM pg_stat_progress_create_index AS p WHERE p.index_relid = i.indexrelid) AS building,
            ${tree('i.indpred')} AS predicate,
            ${tree('i.indexprs')} AS expressions,
            coalesce(s.idx_scan, 0) AS scans,
            CASE WHEN lk.locked_name IS NULL THEN pg_relation_size(c.oid) END AS size,
            CASE WHEN lk.locked_name IS NULL THEN pg_get_indexdef(c.oid) END AS definition,
            lk.locked_name,
            CASE WHEN t.relispartition THEN (SELECT rn.nspname || '.' || r.relname
                                               FROM pg_class AS r
                                               JOIN pg_namespace AS rn ON rn.oid = r.relnamespace
                                              WHERE r.oid = pg_partition_root(t.oid)) END AS partition_of,
            ARRAY(SELECT coalesce(a.attname::text, 'expr')
                    FROM unnest(i.indkey[0:i.indnkeyatts - 1]) WITH ORDINALITY AS k(attnum, ord)
                    LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                   ORDER BY k.ord) AS key_names
       FROM pg_index AS i
       JOIN pg_class AS c ON c.oid = i.indexrelid
       JOIN pg_class AS t ON t.oid = i.indrelid
       JOIN pg_namespace AS n ON n.oid = t.relnamespace
       JOIN pg_am AS am ON am.oid = c.relam
       LEFT JOIN pg_stat_user_indexes AS s ON s.indexrelid = i.indexrelid
       -- pg_get_indexdef locks the table, pg_relation_size the index
       CROSS JOIN LATERAL (
         SELECT CASE
                  WHEN $1 OR t.oid IN (SELECT oid FROM locked) THEN n.nspname || '.' || t.relname
                  WHEN c.oid IN (SELECT oid FROM locked) THEN n.nspname || '.' || c.relname
                END AS locked_name
       ) AS lk
      WHERE n.nspname ${USER_SCHEMAS}
        AND n.nspname NOT LIKE 'pg\\_temp\\_%'
      ORDER BY n.nspname, t.relname, c.relname`,
      [avoidLocks],
    ),
  );
  const fks = await client.query<{
    schema: string;
    table: string;
    name: string;
    columns: string;
    column_names: string[];
    references: string;
  }>(
    `SELECT n.nspname AS schema,
            t.relname AS table,
            k.conname AS name,
            array_to_string(k.conkey, ' ') AS columns,
            ARRAY(SELECT a.attname::text
                    FROM unnest(k.conkey) WITH ORDINALITY AS c(attnum, ord)
                    JOIN pg_attribute AS a ON a.attrelid = k.conrelid AND a.attnum = c.attnum
                   ORDER BY c.ord) AS column_names,
            k.confrelid::regclass::text AS references
       FROM pg_constraint AS k
       JOIN pg_class AS t ON t.oid = k.conrelid
       JOIN pg_namespace AS n ON n.oid = t.relnamespace
      WHERE k.contype = 'f'
        AND n.nspname ${USER_SCHEMAS}
      ORDER BY n.nspname, t.relname, k.conname`,
  );
  const views = await withLockFallback(client, (avoidLocks) =>
    client.query<{ name: string; populated: boolean; size: string | null; locked: boolean }>(
      `WITH ${LOCKED_RELATIONS}
     SELECT n.nspname || '.' || c.relname AS name,
            c.relispopulated AS populated,
            ($1 OR c.oid IN (SELECT oid FROM locked)) AS locked,
            CASE WHEN NOT ($1 OR c.oid IN (SELECT oid FROM locked)) THEN pg_total_relation_size(c.oid) END AS size
       FROM pg_class AS c
       JOIN pg_namespace AS n ON n.oid = c.relnamespace
      WHERE c.relkind = 'm'
        AND n.nspname ${USER_SCHEMAS}
      ORDER BY 1`,
      [avoidLocks],
    ),
  );
  const has = await client.query<{ present: boolean }>(
    `SELECT to_regclass('dbopt.refresh_history') IS NOT NULL AS present`,
  );
  const refreshHistory = Boolean(has.rows[0]?.present);
  const history = new Map<
    string,
    { last_success: Date | null; last_attempt: Date | null; last_outcome: string | null; last_duration: string | null }
  >();
  if (refreshHistory) {
    const h = await client.query<{
      view_name: string;
      last_success: Date | null;
      last_attempt: Date | null;
      last_outcome: string | null;
      last_duration: string | null;
    }>(
      `SELECT view_name,
              max(started_at) FILTER (WHERE outcome = 'ok') AS last_success,
              max(started_at) AS last_attempt,
              (array_agg(outcome ORDER BY started_at DESC))[1] AS last_outcome,
              (array_agg(duration_ms ORDER BY started_at DESC) FILTER (WHERE outcome = 'ok'))[1]::text AS last_duration
         FROM dbopt.refresh_history
        GROUP BY view_name`,
    );
    for (const r of h.rows) history.set(r.view_name, r);
  }
  const ints = (s: string): number[] => s.trim().split(/\s+/).filter(Boolean).map(Number);
  const locked = new Set<string>();
  for (const r of idx.rows) if (r.locked_name) locked.add(r.locked_name);
  for (const v of views.rows) if (v.locked) locked.add(v.name);
  return {
    now: meta.rows[0]!.now.toISOString(),
    statsSince: meta.rows[0]!.since.toISOString(),
    indexes: idx.rows.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      keys: ints(r.keys).slice(0, r.nkeys),
      keyNames: r.key_names,
      include: ints(r.keys).slice(r.nkeys),
      opclasses: ints(r.opclasses).slice(0, r.nkeys),
      options: ints(r.options).slice(0, r.nkeys),
      collations: ints(r.collations).slice(0, r.nkeys),
      method: r.method,
      unique: r.unique,
      nullsNotDistinct: r.nulls_not_distinct,
      primary: r.primary,
      constraint: r.constraint,
      valid: r.valid,
      building: r.building,
      predicate: r.predicate,
      expressions: r.expressions,
      scans: Number(r.scans),
      sizeBytes: r.size === null ? null : Number(r.size),
      definition: r.definition,
      locked: r.locked_name !== null,
      partitionOf: r.partition_of ?? undefined,
    })),
    foreignKeys: fks.rows.map((r) => ({
      schema: r.schema,
      table: r.table,
      name: r.name,
      columns: ints(r.columns),
      columnNames: r.column_names,
      references: r.references,
    })),
    views: views.rows.map((v) => {
      const h = history.get(v.name);
      return {
        name: v.name,
        populated: v.populated,
        sizeBytes: v.size === null ? null : Number(v.size),
        lastSuccess: h?.last_success?.toISOString(),
        lastAttempt: h?.last_attempt?.toISOString(),
        lastOutcome: h?.last_outcome ?? undefined,
        lastDurationMs: h?.last_duration ? Number(h.last_duration) : undefined,
      };
    }),
    refreshHistory,
    locked: [...locked].sort(),
  };
}

/** "not judged: sizes of a, b (locked ...)" for a report note; undefined when nothing was locked. */
export function lockedNote(locked: string[]): string | undefined {
  if (locked.length === 0) return undefined;
  return `not judged: size and definition of ${locked.join(', ')} (locked: another session holds or awaits an ACCESS EXCLUSIVE lock). Run the command again once that lock is gone.`;
}

/** "schema.table" unless the schema is public. */
export function tableName(schema: string, table: string): string {
  return schema === 'public' ? table : `${schema}.${table}`;
}
