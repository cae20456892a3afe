// The load phase's own connections and the check made before any is opened.
//
// Client: src/audit/load/wire.ts, a minimal frontend whose requests cost little client CPU, so the
// engine can come near pgbench on a machine whose cores it shares with the server
// (bench/load.js). Each connection pipelines: several requests at once (Bind/Execute/Sync
// written back to back, results read in order).
// Every load session is read-only and time-bounded from its startup packet on:
// default_transaction_read_only, statement_timeout and lock_timeout are startup parameters, so
// no SET round trip precedes the first request and no request runs outside them. A
// transaction-mode pooler refuses such parameters (PgBouncer: 08P01 "unsupported startup
// parameter"); there the session carries only application_name and each request its own
// limits in one Sync group (see `pooledSteps`).
// https://www.postgresql.org/docs/current/protocol-flow.html#PROTOCOL-FLOW-PIPELINING
import type { ConnectionOptions } from 'node:tls';
import type { Client } from 'pg';
import type { ConnectionTarget } from '../../db/connection.js';
import { deadlineFor } from '../../db/deadline.js';
import { classifyTlsError } from '../../db/tls.js';
import { UsageError } from '../../errors.js';
import { WireConnection, type WireError, type WireOptions, type WireParam } from './wire.js';

export const LOAD_APPLICATION_NAME = 'dbopt-load';

export interface SessionLimits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
}

export interface LoadConnectionOptions {
  applicationName?: string;
  /** More startup parameters (the audit's timer forces custom plans). */
  settings?: Record<string, string>;
  /** Through a transaction-mode pooler: application_name only, unnamed statements. */
  pooled?: boolean;
}

const AUTH_CODES = new Set(['28P01', '28000']);

/**
 * One wire connection with the load envelope, open and authenticated. TLS as the audit's own
 * connections negotiate it (src/db/tls.ts): sslmode prefer tries TLS and takes plain when the
 * server has none (or the handshake or authentication fails), allow the other way round.
 */
export async function loadConnection(
  target: ConnectionTarget,
  limits: SessionLimits,
  opts: LoadConnectionOptions = {},
): Promise<WireConnection> {
  const c = await openLoadConnection(target, limits, opts);
  if (opts.pooled) return c;
  // A pooler told to ignore startup parameters (PgBouncer's ignore_startup_parameters) accepts
  // the session without them: check that the session is read-only and time-bounded before
  // any request runs in it, and treat a session that is not like a refusal (08P01).
  const applied = await new Promise<boolean>((resolve) =>
    c.query(
      `SELECT 1
        WHERE current_setting('default_transaction_read_only') = 'on'
          AND current_setting('statement_timeout')::interval = $1::interval
          AND current_setting('lock_timeout')::interval = $2::interval`,
      [`${params(limits).statement_timeout}ms`, `${params(limits).lock_timeout}ms`],
      (err, rows) => resolve(!err && rows === 1),
    ),
  );
  if (applied) return c;
  await c.end();
  throw Object.assign(
    new Error(
      `${target.display} accepted the load session without applying its startup parameters (read-only, statement_timeout, lock_timeout): a pooler ignoring them`,
    ),
    { code: '08P01' },
  );
}

function params(limits: SessionLimits): { statement_timeout: string; lock_timeout: string } {
  return {
    statement_timeout: String(Math.max(1, Math.round(limits.statementTimeoutMs))),
    lock_timeout: String(Math.max(1, Math.round(limits.lockTimeoutMs))),
  };
}

async function openLoadConnection(
  target: ConnectionTarget,
  limits: SessionLimits,
  opts: LoadConnectionOptions,
): Promise<WireConnection> {
  const c = target.config;
  const startup: Record<string, string> = { application_name: opts.applicationName ?? LOAD_APPLICATION_NAME };
  if (!opts.pooled) {
    Object.assign(startup, { default_transaction_read_only: 'on', ...params(limits), ...opts.settings });
  }
  const base: WireOptions = {
    host: String(c.host ?? 'localhost'),
    port: Number(c.port ?? 5432),
    user: String(c.user ?? 'postgres'),
    database: String(c.database ?? c.user ?? 'postgres'),
    password: typeof c.password === 'string' ? c.password : undefined,
    ssl: false,
    params: startup,
    connectTimeoutMs: c.connectionTimeoutMillis ?? 10_000,
    silenceLimitMs: deadlineFor(limits.statementTimeoutMs),
    statementTimeoutMs: limits.statementTimeoutMs,
    display: target.display,
    unnamed: opts.pooled,
    keepAliveMs: c.keepAlive ? (c.keepAliveInitialDelayMillis ?? 10_000) : undefined,
  };
  const asTls = (s: unknown): false | ConnectionOptions =>
    !s ? false : typeof s === 'object' ? (s as ConnectionOptions) : {};
  const plan = target.tls;
  if (plan && plan.fallback !== undefined) {
    const first = asTls(plan.first);
    try {
      return await WireConnection.connect({ ...base, ssl: first, sslOptional: plan.mode === 'prefer' });
    } catch (err) {
      // The rule of src/db/connection.ts: prefer falls back for a TLS failure or an authentication
      // refusal, allow for the refusal only; a timeout or a server starting up (57P03) is no reason.
      const code = (err as WireError).code ?? '';
      const tlsFailed = plan.mode === 'prefer' && first !== false && classifyTlsError(err) !== undefined;
      if (!AUTH_CODES.has(code) && !tlsFailed) throw err;
      return WireConnection.connect({ ...base, ssl: asTls(plan.fallback) });
    }
  }
  return WireConnection.connect({ ...base, ssl: asTls(c.ssl) });
}

/** Whether a connect failed because a pooler refused the session's startup parameters. */
export function refusedStartupParameters(err: unknown): boolean {
  return (err as { code?: string })?.code === '08P01';
}

/**
 * Through a transaction-mode pooler, one request's Sync group: its own read-only transaction
 * with the limits set inside it (SET LOCAL), the statement, COMMIT.
 */
export function pooledSteps(
  text: string,
  values: readonly WireParam[],
  limits: SessionLimits,
  readWrite = false,
): [string, readonly WireParam[]][] {
  return [
    [readWrite ? 'BEGIN READ WRITE' : 'BEGIN READ ONLY', []],
    [`SET LOCAL statement_timeout = ${Math.max(1, Math.round(limits.statementTimeoutMs))}`, []],
    [`SET LOCAL lock_timeout = ${Math.max(1, Math.round(limits.lockTimeoutMs))}`, []],
    [text, values],
    [readWrite ? 'ROLLBACK' : 'COMMIT', []],
  ];
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
