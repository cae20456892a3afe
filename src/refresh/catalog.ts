// Catalog discovery for dbopt refresh-views: which materialized views are managed (config
// include/exclude patterns over schema.name), whether each can be refreshed CONCURRENTLY,
// which managed views each one reads (pg_rewrite -> pg_depend, through plain views), and
// the dependency order.
// https://www.postgresql.org/docs/current/sql-refreshmaterializedview.html
import type { ClientBase } from 'pg';
import { isManagedView } from '../catalog/views.js';
import { UsageError } from '../errors.js';

export interface ManagedView {
  oid: number;
  schema: string;
  name: string;
  /** schema.name, as written in config and on the command line. */
  qualified: string;
  /** schema.name quoted for SQL. */
  sqlName: string;
  populated: boolean;
  /** Name of a unique index CONCURRENTLY can use (plain columns, no WHERE, valid), if any. */
  uniqueIndex?: string;
  /** Managed views this one reads (directly or through plain views). */
  dependsOn: string[];
  sizeBytes: number;
}

export type RefreshMode = 'concurrent' | 'plain';

/** Which mode a refresh of the view would use, and why (in words a user acts on). */
export function chooseMode(v: Pick<ManagedView, 'qualified' | 'populated' | 'uniqueIndex'>): {
  mode: RefreshMode;
  why: string;
  warning?: string;
} {
  if (!v.populated) {
    return {
      mode: 'plain',
      why: v.uniqueIndex
        ? 'never populated: the first fill must be plain (CONCURRENTLY needs existing rows); later refreshes are concurrent'
        : 'never populated, and no unique index for CONCURRENTLY',
      warning: v.uniqueIndex ? undefined : blockWarning(v.qualified),
    };
  }
  if (!v.uniqueIndex) {
    return { mode: 'plain', why: 'no unique index on plain columns without WHERE', warning: blockWarning(v.qualified) };
  }
  return { mode: 'concurrent', why: `populated, unique index ${v.uniqueIndex}` };
}

function blockWarning(qualified: string): string {
  return (
    `${qualified} has no unique index on plain columns without WHERE, so it is refreshed without CONCURRENTLY: ` +
    'its ACCESS EXCLUSIVE lock blocks every reader of the view for the whole refresh. ' +
    `Add one: CREATE UNIQUE INDEX CONCURRENTLY ON ${qualified} (<key columns>).`
  );
}

interface ViewRow {
  oid: number;
  schema: string;
  name: string;
  populated: boolean;
  unique_index: string | null;
  size_bytes: string;
}

/** Every materialized view matching include/exclude, with its dependencies among them, in dependency order. */
export async function discoverViews(client: ClientBase, include: string[], exclude: string[]): Promise<ManagedView[]> {
  const views = await client.query<ViewRow>(`
    SELECT c.oid::int AS oid,
           n.nspname AS schema,
           c.relname AS name,
           c.relispopulated AS populated,
           (SELECT i.relname
              FROM pg_index AS x
              JOIN pg_class AS i ON i.oid = x.indexrelid
             WHERE x.indrelid = c.oid
               AND x.indisunique
               AND x.indimmediate
               AND x.indisvalid
               AND x.indisready
               AND x.indislive
               AND x.indpred IS NULL
               AND x.indexprs IS NULL
             ORDER BY x.indnkeyatts, i.relname
             LIMIT 1) AS unique_index,
           pg_total_relation_size(c.oid) AS size_bytes
      FROM pg_class AS c
      JOIN pg_namespace AS n ON n.oid = c.relnamespace
     WHERE c.relkind = 'm'
     ORDER BY n.nspname, c.relname`);
  const managed = views.rows.filter((r) => isManagedView(`${r.schema}.${r.name}`, include, exclude));
  const byOid = new Map<number, ManagedView>();
  for (const r of managed) {
    byOid.set(r.oid, {
      oid: r.oid,
      schema: r.schema,
      name: r.name,
      qualified: `${r.schema}.${r.name}`,
      sqlName: `${client.escapeIdentifier(r.schema)}.${client.escapeIdentifier(r.name)}`,
      populated: r.populated,
      uniqueIndex: r.unique_index ?? undefined,
      dependsOn: [],
      sizeBytes: Number(r.size_bytes),
    });
  }
  if (byOid.size === 0) return [];
  // A view's rewrite rule depends on the relations its query reads; follow plain views
  // (relkind 'v') through to the materialized views underneath them.
  const edges = await client.query<{ matview: number; dependency: number }>(
    `
    WITH RECURSIVE edges AS (
      SELECT DISTINCT r.ev_class AS dependent, d.refobjid AS dependency
        FROM pg_rewrite AS r
        JOIN pg_depend AS d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
       WHERE d.refclassid = 'pg_class'::regclass
         AND d.refobjid <> r.ev_class
    ), reach AS (
      SELECT e.dependent AS matview, e.dependency
        FROM edges AS e
       WHERE e.dependent = ANY($1::oid[])
      UNION
      SELECT reach.matview, e.dependency
        FROM reach
        JOIN pg_class AS c ON c.oid = reach.dependency AND c.relkind = 'v'
        JOIN edges AS e ON e.dependent = reach.dependency
    )
    SELECT reach.matview::int AS matview, reach.dependency::int AS dependency
      FROM reach
      JOIN pg_class AS c ON c.oid = reach.dependency
     WHERE c.relkind = 'm'`,
    [[...byOid.keys()]],
  );
  for (const e of edges.rows) {
    const view = byOid.get(e.matview);
    const dep = byOid.get(e.dependency);
    if (view && dep && view !== dep && !view.dependsOn.includes(dep.qualified)) view.dependsOn.push(dep.qualified);
  }
  for (const v of byOid.values()) v.dependsOn.sort();
  return topologicalOrder([...byOid.values()]);
}

/** Dependencies first; among views ready at the same time, by name (stable output). */
export function topologicalOrder<T extends { qualified: string; dependsOn: string[] }>(views: T[]): T[] {
  const byName = new Map(views.map((v) => [v.qualified, v]));
  const done = new Set<string>();
  const out: T[] = [];
  let remaining = [...views].sort((a, b) => a.qualified.localeCompare(b.qualified));
  while (remaining.length > 0) {
    const ready = remaining.filter((v) => v.dependsOn.every((d) => done.has(d) || !byName.has(d)));
    // PostgreSQL does not allow cycles among views; guard anyway rather than loop forever.
    const batch = ready.length > 0 ? ready : [remaining[0]!];
    for (const v of batch) {
      out.push(v);
      done.add(v.qualified);
    }
    remaining = remaining.filter((v) => !done.has(v.qualified));
  }
  return out;
}

/** Resolve command-line names ("schema.view" or a unique bare "view") to managed views. */
export function selectNamed(views: ManagedView[], names: string[]): ManagedView[] {
  const chosen = new Set<string>();
  const unknown: string[] = [];
  for (const raw of names) {
    const name = raw.trim();
    const exact = views.find((v) => v.qualified === name);
    const bare = name.includes('.') ? [] : views.filter((v) => v.name === name);
    if (exact) chosen.add(exact.qualified);
    else if (bare.length === 1) chosen.add(bare[0]!.qualified);
    else if (bare.length > 1) {
      throw new UsageError(`view name "${name}" is ambiguous: ${bare.map((v) => v.qualified).join(', ')}`, {
        hint: 'Write it as schema.view.',
      });
    } else unknown.push(name);
  }
  if (unknown.length > 0) {
    const known = views.map((v) => v.qualified);
    throw new UsageError(`unknown materialized view${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, {
      details: [
        known.length
          ? `managed views: ${known.join(', ')}`
          : 'no materialized view matches refresh.include/refresh.exclude',
      ],
      hint: 'Check the spelling (schema.view), or widen refresh.include in dbopt.config.json.',
    });
  }
  return views.filter((v) => chosen.has(v.qualified));
}
