// Lint with a connection: each lock finding on an existing table is sized by that table's
// reltuples, heap size and write rate (pg_stat_user_tables counters over the time since the
// statistics were reset), with a rough lock duration for rewrites, builds and validation scans.
// Tables under migrate.lint.smallTable rows turn lock findings into notes. Read-only: one query
// in a READ ONLY transaction with its own statement and lock timeouts, always rolled back.
import type { Client } from 'pg';
import type { LintFinding, TableFacts } from './types.js';
import { summarize, type LintResult } from './index.js';

/** Rough throughput on this kind of hardware, for an order of magnitude only. */
const REWRITE_BYTES_PER_SEC = 50 * 1024 * 1024;
const SCAN_BYTES_PER_SEC = 200 * 1024 * 1024;

const SIZED = new Set(['lock', 'rewrite', 'scan']);

function quoteRelation(client: Client, relation: string): string {
  return relation
    .split('.')
    .map((p) => client.escapeIdentifier(p))
    .join('.');
}

/** Facts of each relation (as written in the migration); an index stands for its table. */
type Sized = TableFacts & { table: string };

export async function tableFacts(client: Client, relations: string[]): Promise<Map<string, Sized>> {
  const out = new Map<string, Sized>();
  if (relations.length === 0) return out;
  await client.query('BEGIN READ ONLY');
  try {
    await client.query(`SET LOCAL statement_timeout = '5s'`);
    await client.query(`SET LOCAL lock_timeout = '1s'`);
    type Row = {
      name: string;
      table: string;
      rows: number | null;
      bytes: string;
      writes: string | null;
      seconds: number | null;
    };
    const { rows } = await client.query<Row>(
      `SELECT r.name,
              n.nspname || '.' || c.relname AS table,
              CASE WHEN c.reltuples >= 0 THEN c.reltuples::float8 ELSE s.n_live_tup::float8 END AS rows,
              pg_relation_size(c.oid) AS bytes,
              s.n_tup_ins + s.n_tup_upd + s.n_tup_del AS writes,
              extract(epoch FROM now() - coalesce(d.stats_reset, pg_postmaster_start_time()))::float8 AS seconds
         FROM unnest($1::text[], $2::text[]) AS r(name, quoted)
         JOIN LATERAL (SELECT coalesce((SELECT x.indrelid
                                          FROM pg_index AS x
                                         WHERE x.indexrelid = to_regclass(r.quoted)),
                                       to_regclass(r.quoted)) AS oid) AS t ON t.oid IS NOT NULL
         JOIN pg_class AS c ON c.oid = t.oid
         JOIN pg_namespace AS n ON n.oid = c.relnamespace
         LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid
         LEFT JOIN pg_stat_database AS d ON d.datname = current_database()`,
      [relations, relations.map((r) => quoteRelation(client, r))],
    );
    for (const r of rows) {
      const seconds = r.seconds && r.seconds > 0 ? r.seconds : null;
      out.set(r.name, {
        table: r.table,
        rows: Math.max(0, Math.round(r.rows ?? 0)),
        bytes: Number(r.bytes),
        writesPerSec: r.writes === null || seconds === null ? null : Number(r.writes) / seconds,
      });
    }
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
  return out;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

function formatDuration(ms: number): string {
  if (ms < 1000) return 'under 1 s';
  if (ms < 2000) return 'about 1 s';
  if (ms < 120_000) return `about ${Math.round(ms / 1000)} s`;
  if (ms < 7_200_000) return `about ${Math.round(ms / 60_000)} min`;
  return `about ${(ms / 3_600_000).toFixed(1)} h`;
}

function describe(f: LintFinding, t: Sized): string {
  const rate = t.writesPerSec;
  const writes =
    rate === null
      ? 'writes/s unknown'
      : `${rate < 10 ? rate.toFixed(1) : Math.round(rate).toLocaleString('en-US')} writes/s`;
  const kind = f.impact === 'scan' ? 'scan' : 'rewrite or build';
  const held =
    t.estimatedLockMs === undefined
      ? ''
      : `; lock held ${formatDuration(t.estimatedLockMs)} (estimated from its size at a typical ${kind} rate)`;
  return `${t.table}: ${t.rows.toLocaleString('en-US')} rows, ${formatBytes(t.bytes)}, ${writes}${held}`;
}

/** Size the lock findings of a lint result by the tables of the database `client` is connected to. */
export async function sizeFindings(
  client: Client,
  result: LintResult,
  smallTable: number,
  server: string,
): Promise<LintResult> {
  const sizable = (f: LintFinding): boolean =>
    Boolean(f.relation) && SIZED.has(f.impact ?? '') && f.severity !== 'note';
  const facts = await tableFacts(client, [...new Set(result.findings.filter(sizable).map((f) => f.relation!))]);
  for (const f of result.findings) {
    if (!sizable(f)) continue;
    const t = facts.get(f.relation!);
    if (!t) continue;
    const perSec = { rewrite: REWRITE_BYTES_PER_SEC, scan: SCAN_BYTES_PER_SEC }[f.impact as string];
    f.table = { rows: t.rows, bytes: t.bytes, writesPerSec: t.writesPerSec };
    if (perSec) f.table.estimatedLockMs = Math.round((t.bytes / perSec) * 1000);
    const sized = describe(f, { ...f.table, table: t.table });
    if (t.rows < smallTable) {
      f.severity = 'note';
      f.fatal = false;
      const limit = smallTable.toLocaleString('en-US');
      f.message += ` Note: ${sized}, under migrate.lint.smallTable (${limit} rows), so the lock is brief.`;
    } else {
      f.message += ` Sized: ${sized}.`;
    }
  }
  const limit = smallTable.toLocaleString('en-US');
  return summarize(result.files, true, `sized by the tables on ${server}; lock findings under ${limit} rows are notes`);
}
