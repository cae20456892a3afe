// The connections of a fleet: `url` (what applications use, maybe a pooler), the direct
// session-capable connection to the primary (`directUrl`) that session work needs, and the
// read replicas. Session work through a transaction-mode pooler is refused: an advisory lock
// or a SET lives on whichever server connection took it and protects nothing
// (https://www.pgbouncer.org/features.html). A node in recovery is refused for writes.
import type { Config } from '../config.js';
import { ConnectionError, UsageError } from '../errors.js';
import { connect, targetFromUrl, type ConnectionTarget } from './connection.js';

export interface FleetNode {
  /** "primary" or the replica's name from database.replicas. */
  name: string;
  target: ConnectionTarget;
}

export interface ResolveSessionOptions {
  /** The resolved `url` target (--database-url > DATABASE_URL > database.url > PG*). */
  url: ConnectionTarget;
  /** --direct-url. */
  flagDirectUrl?: string;
  database: Config['database'];
  env?: NodeJS.ProcessEnv;
}

/**
 * The connection session work uses: --direct-url > DATABASE_DIRECT_URL > database.directUrl >
 * `url`. With database.pooler "transaction" and no direct URL, `command` is refused (exit 2).
 */
export function sessionTarget(command: string, opts: ResolveSessionOptions): ConnectionTarget {
  const env = opts.env ?? process.env;
  if (opts.flagDirectUrl) return targetFromUrl(opts.flagDirectUrl, '--direct-url', env);
  if (env.DATABASE_DIRECT_URL) return targetFromUrl(env.DATABASE_DIRECT_URL, 'DATABASE_DIRECT_URL', env);
  if (opts.database.directUrl) return targetFromUrl(opts.database.directUrl, 'config database.directUrl', env);
  if (opts.database.pooler === 'transaction') {
    throw new UsageError(
      `${command} needs a session, and ${opts.url.display} (from ${opts.url.source}) goes through a transaction-mode pooler (database.pooler "transaction")`,
      {
        details: [
          `Its advisory locks and settings would live on whichever server connection the pooler picked, so two ${command} runs could do the same work at once.`,
        ],
        hint: 'Set database.directUrl in dbopt.config.json (or --direct-url / DATABASE_DIRECT_URL) to a connection straight to the primary, e.g. postgres://app@primary:5432/app.',
      },
    );
  }
  return opts.url;
}

/** The nodes `--node` selects: primary (the `url` target), a replica by name, or all. */
export function selectNodes(
  node: string | undefined,
  url: ConnectionTarget,
  database: Config['database'],
  env: NodeJS.ProcessEnv = process.env,
): FleetNode[] {
  const replicas = database.replicas.map((r) => ({
    name: r.name,
    target: targetFromUrl(r.url, `config database.replicas "${r.name}"`, env),
  }));
  const primary = { name: 'primary', target: url };
  if (node === undefined || node === 'primary') return [primary];
  if (node === 'all') return [primary, ...replicas];
  const found = replicas.find((r) => r.name === node);
  if (!found) {
    throw new UsageError(`--node ${node}: no such node`, {
      hint: replicas.length
        ? `Use primary, all, or one of ${replicas.map((r) => r.name).join(', ')} (database.replicas).`
        : 'Use primary or all, or list replicas in database.replicas: [{ "name": "replica-1", "url": "postgres://..." }].',
    });
  }
  return [found];
}

/** The replica name whose URL is `target`'s (same host, port and database), for messages. */
export function nodeNameOf(target: ConnectionTarget, database: Config['database']): string | undefined {
  for (const r of database.replicas) {
    try {
      if (targetFromUrl(r.url, 'replica', {}).display === target.display) return r.name;
    } catch {
      // An invalid replica URL is reported where it is used.
    }
  }
  return undefined;
}

/** Refuse `command` (exit 2) when `target` is a standby: it writes, so it must run on the primary. */
export async function refuseStandby(
  command: string,
  target: ConnectionTarget,
  database: Config['database'],
): Promise<void> {
  let client;
  try {
    client = await connect(target);
  } catch (err) {
    // Unreachable: the command reports it itself, after the checks it makes before connecting
    // (migrate refuses a bad migration file without a server).
    if (err instanceof ConnectionError) return;
    throw err;
  }
  let inRecovery: boolean;
  try {
    inRecovery = (await client.query<{ r: boolean }>('SELECT pg_is_in_recovery() AS r')).rows[0]!.r;
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!inRecovery) return;
  const name = nodeNameOf(target, database);
  throw new UsageError(
    `${command}: ${name ? `node ${name} (${target.display})` : target.display} (from ${target.source}) is a standby in recovery, and ${command} writes`,
    {
      hint: 'Point database.directUrl (or --direct-url / DATABASE_DIRECT_URL) at the primary: migrate, refresh-views and seed run there, and replicas receive their changes by replication.',
    },
  );
}
