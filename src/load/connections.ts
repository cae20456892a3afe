// The load phase's own connections and the check made before any is opened.
//
// Client: postgres.js, one instance per connection (max 1), so the engine decides which
// connection takes a request and when (that moment ends the request's pool wait). postgres.js
// pipelines: a connection may carry several requests at once (Bind/Execute written back to back,
// results read in order), which is what lets one Node process come near pgbench on this
// machine (bench/load.js; a plain pg.Pool loop tops out near 0.3-0.4x of pgbench -M prepared).
// Every load session is read-only and time-bounded from its startup packet on:
// default_transaction_read_only, statement_timeout and lock_timeout are startup parameters, so
// no SET round trip precedes the first request and no request runs outside them.
// https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
import type { Client } from 'pg';
import postgres from 'postgres';
import type { ConnectionTarget } from '../db/connection.js';
import { UsageError } from '../errors.js';

export const LOAD_APPLICATION_NAME = 'dbopt-load';

export interface SessionLimits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export type LoadSql = postgres.Sql<Record<string, never>>;

/** One postgres.js connection with the load envelope; nothing is opened until the first query. */
export function loadConnection(
  target: ConnectionTarget,
  limits: SessionLimits,
  applicationName = LOAD_APPLICATION_NAME,
  settings: Record<string, string> = {},
): LoadSql {
  const c = target.config;
  // TLS as the audit's own connections negotiate it (src/db/tls.ts): a plan not yet settled by a
  // first connection (sslmode prefer/allow) is left to postgres.js's own prefer/allow; a settled
  // or strict one passes its TLS options as they are.
  const plan = target.tls;
  const ssl =
    plan && plan.fallback !== undefined
      ? plan.first
        ? 'prefer'
        : 'allow'
      : !c.ssl
        ? false
        : typeof c.ssl === 'object'
          ? (c.ssl as import('node:tls').ConnectionOptions)
          : 'require';
  return postgres({
    host: c.host ?? 'localhost',
    port: Number(c.port ?? 5432),
    database: c.database,
    username: c.user,
    password: typeof c.password === 'string' ? c.password : undefined,
    ssl,
    max: 1,
    prepare: true,
    fetch_types: false,
    idle_timeout: 0,
    connect_timeout: Math.ceil((c.connectionTimeoutMillis ?? 10_000) / 1000),
    onnotice: () => undefined,
    connection: {
      application_name: applicationName,
      default_transaction_read_only: true,
      statement_timeout: Math.max(1, Math.round(limits.statementTimeoutMs)),
      lock_timeout: Math.max(1, Math.round(limits.lockTimeoutMs)),
      ...settings,
    },
  }) as unknown as LoadSql;
}

export interface ConnectionBudget {
  maxConnections: number;
  used: number;
  reserved: number;
  free: number;
  share: number;
  allowed: number;
}

/**
 * Free connections = max_connections - client backends in use - superuser_reserved_connections
 * (- reserved_connections on PostgreSQL 16+); the load may take `share` of them.
 */
export async function connectionBudget(client: Client, share: number): Promise<ConnectionBudget> {
  const { rows } = await client.query<{ max: number; used: number; reserved: number }>(
    `SELECT current_setting('max_connections')::int AS max,
            (SELECT count(*)::int
               FROM pg_stat_activity
              WHERE backend_type = 'client backend') AS used,
            current_setting('superuser_reserved_connections')::int
              + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved`,
  );
  const r = rows[0]!;
  const free = Math.max(0, r.max - r.used - r.reserved);
  return { maxConnections: r.max, used: r.used, reserved: r.reserved, free, share, allowed: Math.floor(free * share) };
}

/** Refuse (exit 2) before anything is opened when `connections` exceeds the allowed share. */
export function assertWithinBudget(connections: number, budget: ConnectionBudget): void {
  if (connections <= budget.allowed) return;
  const pct = Math.round(budget.share * 100);
  throw new UsageError(
    `--connections ${connections} is more than the ${budget.allowed} allowed: ${pct} % of the server's ${budget.free} free connections` +
      ` (max_connections ${budget.maxConnections}, ${budget.used} in use, ${budget.reserved} reserved); no load connection was opened`,
    {
      hint: `Use --connections ${Math.max(1, budget.allowed)} or fewer, or raise audit.load.maxConnectionShare if this server is yours.`,
    },
  );
}
