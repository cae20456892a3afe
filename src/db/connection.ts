// Resolves where to connect (flag > DATABASE_URL > config > libpq PG* variables), opens
// clients and pools tagged application_name=dbopt, and keeps passwords out of every message.
import type { ClientConfig, Pool, PoolClient, Client } from 'pg';
import { ConfigError, ConnectionError } from '../errors.js';
import { redact } from '../redact.js';
import { guardClient, serverSilent, UnresponsiveError } from './deadline.js';
import { pgpassPassword } from './pgpass.js';
import { classifyTlsError, describeTlsFailure, planTls, tlsParamsFrom, type TlsPlan } from './tls.js';

export interface ConnectionTarget {
  /** pg client config (may hold a password: never print it). */
  config: ClientConfig;
  /** user@host:port/db, safe to print. */
  display: string;
  /** Where the target came from: --database-url, DATABASE_URL, config database.url, PG* environment, embedded. */
  source: string;
  /** Strings that must never appear in output (the password, raw and URL-encoded). */
  secrets: string[];
  /** How TLS is negotiated (libpq's sslmode); `config.ssl` holds the first attempt. */
  tls?: TlsPlan;
  /** database.unresponsiveAfter: how long the server may give no answer at all (default 60 s). */
  unresponsiveAfterMs?: number;
}

export interface ResolveOptions {
  flagUrl?: string;
  configUrl?: string;
  env?: NodeJS.ProcessEnv;
}

const LIBPQ_VARS = ['PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGUSER', 'PGSERVICE'];

/** Pick the connection by PRODUCT.md's order, or refuse with guidance (never guess localhost). */
export function resolveConnection(opts: ResolveOptions): ConnectionTarget {
  const env = opts.env ?? process.env;
  if (opts.flagUrl) return targetFromUrl(opts.flagUrl, '--database-url', env);
  if (env.DATABASE_URL) return targetFromUrl(env.DATABASE_URL, 'DATABASE_URL', env);
  if (opts.configUrl) return targetFromUrl(opts.configUrl, 'config database.url', env);
  if (LIBPQ_VARS.some((v) => env[v])) {
    const config: ClientConfig = {
      host: env.PGHOST ?? env.PGHOSTADDR ?? 'localhost',
      port: env.PGPORT ? Number(env.PGPORT) : 5432,
      database: env.PGDATABASE ?? env.PGUSER ?? 'postgres',
      user: env.PGUSER ?? 'postgres',
      password: env.PGPASSWORD,
    };
    return finish(config, 'PG* environment', env, undefined);
  }
  throw new ConfigError('no database to connect to', {
    details: [
      'dbopt looks, in order, at: --database-url, DATABASE_URL, database.url in dbopt.config.json, then PGHOST/PGDATABASE/PGUSER.',
      'None is set, and dbopt never guesses localhost.',
    ],
    hint: 'Set DATABASE_URL=postgres://user@host:5432/db, or add --embedded to use a local PostgreSQL in .dbopt/embedded/.',
  });
}

export function targetFromUrl(url: string, source: string, env: NodeJS.ProcessEnv = process.env): ConnectionTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${source}: not a valid connection URL`, {
      hint: 'Write it as postgres://user@host:5432/db; URL-encode special characters in the password (or use PGPASSWORD).',
    });
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(`${source}: the URL must start with postgres:// or postgresql://, got ${parsed.protocol}//`, {
      hint: 'Write it as postgres://user@host:5432/db.',
    });
  }
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const params = parsed.searchParams;
  const hostParam = params.get('host');
  const config: ClientConfig = {
    host: hostParam ?? (decode(parsed.hostname) || env.PGHOST || 'localhost'),
    port: parsed.port ? Number(parsed.port) : env.PGPORT ? Number(env.PGPORT) : 5432,
    database: decode(parsed.pathname.replace(/^\//, '')) || env.PGDATABASE || undefined,
    user: decode(parsed.username) || env.PGUSER || undefined,
    password: parsed.password ? decode(parsed.password) : env.PGPASSWORD,
  };
  const secrets = parsed.password ? [parsed.password] : [];
  const t = finish(config, source, env, params);
  t.secrets.push(...secrets);
  return t;
}

/** TCP keepalive probes after this long idle: a silent network partition is noticed by the kernel. */
export const KEEPALIVE_IDLE_MS = 10_000;

function finish(
  config: ClientConfig,
  source: string,
  env: NodeJS.ProcessEnv,
  params: URLSearchParams | undefined,
): ConnectionTarget {
  config.database ??= config.user ?? 'postgres';
  config.user ??= 'postgres';
  config.application_name = 'dbopt';
  config.connectionTimeoutMillis ??= 10_000;
  config.keepAlive = true;
  config.keepAliveInitialDelayMillis = KEEPALIVE_IDLE_MS;
  const host = String(config.host ?? 'localhost');
  if (config.password === undefined) {
    const want = { host, port: Number(config.port ?? 5432), database: config.database, user: config.user };
    config.password = pgpassPassword(want, env, env.HOME || undefined);
  }
  const tls = planTls(tlsParamsFrom(params, env), host, source, env.HOME || undefined);
  config.ssl = tls.first;
  const password = typeof config.password === 'string' ? config.password : undefined;
  const secrets = password ? [password, encodeURIComponent(password)] : [];
  secrets.push(...tls.secrets);
  return { config, display: displayTarget(config), source, secrets, tls };
}

export function displayTarget(config: ClientConfig): string {
  return `${config.user ?? 'postgres'}@${config.host ?? 'localhost'}:${config.port ?? 5432}/${config.database ?? ''}`;
}

const AUTH_CODES = new Set(['28P01', '28000']);
/** Refusals met only when connecting; a connect can also fail in the ways a session is lost. */
const CONNECT_CODES = new Set(['3D000', '53300', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENOENT']);

/** Turn a failure to connect into a ConnectionError (exit 3) naming user@host:port/db. */
export function connectionFailure(err: unknown, target: ConnectionTarget): ConnectionError {
  // Already says which server stopped answering, and for how long.
  if (err instanceof UnresponsiveError) return err;
  const e = err as { code?: string; message?: string };
  const raw = redact(String(e?.message ?? err), target.secrets);
  let hint = 'Check that the server is running and reachable, and that the URL is right.';
  let what = 'cannot connect to';
  const tls =
    target.tls && classifyTlsError(err) ? describeTlsFailure(err, target.tls, String(target.config.host)) : undefined;
  if (tls) {
    return new ConnectionError(
      `cannot connect to ${target.display} (from ${target.source}): ${redact(tls.what, target.secrets)}`,
      { hint: tls.hint, cause: err },
    );
  }
  if (e?.code && AUTH_CODES.has(e.code)) {
    what = 'cannot authenticate to';
    hint = 'Check the user and password (PGPASSWORD or ~/.pgpass keep it out of URLs and shell history).';
  } else if (e?.code === '3D000') {
    hint = 'Create the database first, or point dbopt at an existing one.';
  } else if (/timeout expired/i.test(raw)) {
    const secs = Math.round((target.config.connectionTimeoutMillis ?? 10_000) / 100) / 10;
    return new ConnectionError(
      `cannot connect to ${target.display} (from ${target.source}): no answer from ${target.display} for ${secs} s while connecting (timeout expired)`,
      {
        hint: 'The server accepted the connection but never answered: check that it is not frozen or overloaded, and the network in between.',
        cause: err,
      },
    );
  } else if (/timeout/i.test(raw)) {
    hint = 'The server did not answer in time: check host, port and firewalls.';
  }
  return new ConnectionError(`${what} ${target.display} (from ${target.source}): ${raw}`, { hint, cause: err });
}

/**
 * SQLSTATEs and socket errors of a session the server or the network dropped: class 08
 * (connection exception), 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now),
 * and the socket going away under node-postgres.
 */
const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
/** node-postgres's own messages for a dead socket or client. */
const CONNECTION_LOST_MESSAGE =
  /Connection terminated|connection (is )?closed|connection error|not queryable|timeout exceeded when trying to connect/i;

/**
 * The one answer to "is the connection lost?": the server or the network went away, as
 * opposed to an error in the statement (refresh, envelope reads, the CLI's exit 3).
 */
export function isConnectionLost(err: unknown): boolean {
  const code = String((err as { code?: unknown })?.code ?? '');
  if (code.startsWith('08') || CONNECTION_LOST_CODES.has(code)) return true;
  return CONNECTION_LOST_MESSAGE.test(String((err as Error)?.message ?? ''));
}

/** A failure to connect or authenticate (as opposed to losing an established session). */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof UnresponsiveError) return true;
  const code = (err as { code?: string })?.code;
  if (code && (AUTH_CODES.has(code) || CONNECT_CODES.has(code))) return true;
  return /timeout expired/i.test(String((err as Error)?.message)) || isConnectionLost(err);
}

/**
 * Will trying again help? Yes when the server or the network went away (a restart, a
 * failover); no for a wrong password or a missing database, which fail the same way forever.
 */
export function isTransientConnectionFailure(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return isConnectionError(err) && !AUTH_CODES.has(code) && code !== '3D000';
}

/**
 * sslmode=prefer tries TLS then plain, allow plain then TLS (libpq). Whether a refusal of the
 * first attempt is worth the second: not when the server is down or unreachable.
 */
function worthFallback(err: unknown, target: ConnectionTarget): boolean {
  if (target.tls?.fallback === undefined) return false;
  const code = (err as { code?: string })?.code ?? '';
  if (target.tls.mode === 'prefer') return classifyTlsError(err) !== undefined || AUTH_CODES.has(code);
  return AUTH_CODES.has(code);
}

/** Once an attempt of prefer/allow has answered, later connections (pools) go straight to it. */
function settleTls(target: ConnectionTarget, ssl: ClientConfig['ssl']): void {
  target.config.ssl = ssl;
  if (target.tls) target.tls = { ...target.tls, first: ssl as TlsPlan['first'], fallback: undefined };
}

/** A connected client; failures to connect become exit 3. */
export async function connect(target: ConnectionTarget): Promise<Client> {
  const pg = (await import('pg')).default;
  const attempt = async (config: ClientConfig): Promise<Client> => {
    // Right after the server went silent, a new connection should not wait the full 10 s.
    const client = new pg.Client(
      serverSilent(target)
        ? { ...config, connectionTimeoutMillis: Math.min(2_000, config.connectionTimeoutMillis ?? 2_000) }
        : config,
    );
    client.on('error', () => {
      // An idle client losing its server is reported by the next query; keep the process alive.
    });
    try {
      await client.connect();
      return guardClient(client, target);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
  };
  try {
    const client = await attempt(target.config);
    if (target.tls?.fallback !== undefined) settleTls(target, target.config.ssl);
    return client;
  } catch (err) {
    if (!worthFallback(err, target)) throw connectionFailure(err, target);
    const ssl = target.tls!.fallback;
    try {
      const client = await attempt({ ...target.config, ssl });
      settleTls(target, ssl);
      return client;
    } catch (err2) {
      throw connectionFailure(err2, target);
    }
  }
}

/** A pool for parallel work; the first connection is tried eagerly so failures map to exit 3. */
export async function createPool(target: ConnectionTarget, max: number): Promise<Pool> {
  const pg = (await import('pg')).default;
  // Settle prefer/allow on one plain connection first, so every pooled one is made alike.
  if (target.tls?.fallback !== undefined) await (await connect(target)).end();
  const pool = new pg.Pool({ ...target.config, max });
  pool.on('connect', (client) => void guardClient(client, target));
  pool.on('error', () => {
    // Errors of idle clients surface on their next use.
  });
  let client: PoolClient | undefined;
  try {
    client = await pool.connect();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw connectionFailure(err, target);
  } finally {
    client?.release();
  }
  return pool;
}
