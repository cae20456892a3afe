// The catalog facts behind the schema checks and `dbopt report`: every user index (validity,
// key columns, predicate, usage, size), foreign keys, materialized views with their last
// successful refresh from dbopt.refresh_history (written by dbopt refresh-views), and how long
// the usage statistics have been collecting. One read-only query per question.
import type { Client } from 'pg';

export interface IndexFact {
  schema: string;
  table: string;
  name: string;
  /** Key columns (attnums; 0 for an expression), without INCLUDE columns. */
  keys: number[];
  keyNames: string[];
  opclasses: number[];
  method: string;
  unique: boolean;
  primary: boolean;
  /** Backs a constraint (primary key, unique, exclusion): never "unused". */
  constraint: boolean;
  valid: boolean;
  /** CREATE INDEX CONCURRENTLY is building it right now. */
  building: boolean;
  predicate: string | null;
  expressions: string | null;
  scans: number;
  sizeBytes: number;
  definition: string;
}

export interface ForeignKeyFact {
  schema: string;
  table: string;
  name: string;
  columns: number[];
  columnNames: string[];
  references: string;
}

export interface ViewFact {
  /** schema.view as written in config and dbopt.refresh_history. */
  name: string;
  populated: boolean;
  sizeBytes: number;
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
}

const USER_SCHEMAS = `NOT IN ('pg_catalog', 'information_schema', 'pg_toast')`;

export async function schemaFacts(client: Client): Promise<SchemaFacts> {
  const meta = await client.query<{ now: Date; since: Date }>(
    `SELECT now() AS now,
            coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()), pg_postmaster_start_time()) AS since`,
  );
  const idx = await client.query<{
    schema: string; table: string; name: string; keys: string; opclasses: string; nkeys: number; method: string;
    unique: boolean; primary: boolean; constraint: boolean; valid: boolean; building: boolean; predicate: string | null;
    expressions: string | null; scans: string; size: string; definition: string; key_names: string[];
  }>(
    `SELECT n.nspname AS schema,
            t.relname AS table,
            c.relname AS name,
            i.indkey::text AS keys,
            i.indclass::text AS opclasses,
            i.indnkeyatts AS nkeys,
            am.amname AS method,
            i.indisunique AS unique,
            i.indisprimary AS primary,
            EXISTS (SELECT 1 FROM pg_constraint AS k WHERE k.conindid = i.indexrelid AND k.contype IN ('p', 'u', 'x')) AS constraint,
            i.indisvalid AS valid,
            EXISTS (SELECT 1 FROM pg_stat_progress_create_index AS p WHERE p.index_relid = i.indexrelid) AS building,
            pg_get_expr(i.indpred, i.indrelid) AS predicate,
            pg_get_expr(i.indexprs, i.indrelid) AS expressions,
            coalesce(s.idx_scan, 0) AS scans,
            pg_relation_size(c.oid) AS size,
            pg_get_indexdef(c.oid) AS definition,
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
      WHERE n.nspname ${USER_SCHEMAS}
        AND n.nspname NOT LIKE 'pg\\_temp\\_%'
      ORDER BY n.nspname, t.relname, c.relname`,
  );
  const fks = await client.query<{ schema: string; table: string; name: string; columns: string; column_names: string[]; references: string }>(
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
  const views = await client.query<{ name: string; populated: boolean; size: string }>(
    `SELECT n.nspname || '.' || c.relname AS name,
            c.relispopulated AS populated,
            pg_total_relation_size(c.oid) AS size
       FROM pg_class AS c
       JOIN pg_namespace AS n ON n.oid = c.relnamespace
      WHERE c.relkind = 'm'
        AND n.nspname ${USER_SCHEMAS}
      ORDER BY 1`,
  );
  const has = await client.query<{ present: boolean }>(`SELECT to_regclass('dbopt.refresh_history') IS NOT NULL AS present`);
  const refreshHistory = Boolean(has.rows[0]?.present);
  const history = new Map<string, { last_success: Date | null; last_attempt: Date | null; last_outcome: string | null; last_duration: string | null }>();
  if (refreshHistory) {
    const h = await client.query<{ view_name: string; last_success: Date | null; last_attempt: Date | null; last_outcome: string | null; last_duration: string | null }>(
      `SELECT view_name,
              max(finished_at) FILTER (WHERE outcome = 'ok') AS last_success,
              max(started_at) AS last_attempt,
              (array_agg(outcome ORDER BY started_at DESC))[1] AS last_outcome,
              (array_agg(duration_ms ORDER BY started_at DESC) FILTER (WHERE outcome = 'ok'))[1]::text AS last_duration
         FROM dbopt.refresh_history
        GROUP BY view_name`,
    );
    for (const r of h.rows) history.set(r.view_name, r);
  }
  const ints = (s: string): number[] => s.trim().split(/\s+/).filter(Boolean).map(Number);
  return {
    now: meta.rows[0]!.now.toISOString(),
    statsSince: meta.rows[0]!.since.toISOString(),
    indexes: idx.rows.map((r) => ({
      schema: r.schema, table: r.table, name: r.name,
      keys: ints(r.keys).slice(0, r.nkeys), keyNames: r.key_names, opclasses: ints(r.opclasses).slice(0, r.nkeys),
      method: r.method, unique: r.unique, primary: r.primary, constraint: r.constraint, valid: r.valid, building: r.building,
      predicate: r.predicate, expressions: r.expressions, scans: Number(r.scans), sizeBytes: Number(r.size), definition: r.definition,
    })),
    foreignKeys: fks.rows.map((r) => ({ schema: r.schema, table: r.table, name: r.name, columns: ints(r.columns), columnNames: r.column_names, references: r.references })),
    views: views.rows.map((v) => {
      const h = history.get(v.name);
      return {
        name: v.name, populated: v.populated, sizeBytes: Number(v.size),
        lastSuccess: h?.last_success?.toISOString(), lastAttempt: h?.last_attempt?.toISOString(),
        lastOutcome: h?.last_outcome ?? undefined, lastDurationMs: h?.last_duration ? Number(h.last_duration) : undefined,
      };
    }),
    refreshHistory,
  };
}

/** "schema.table" unless the schema is public. */
export function tableName(schema: string, table: string): string {
  return schema === 'public' ? table : `${schema}.${table}`;
}
