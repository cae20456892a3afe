// startPgBouncer(): Debian's PgBouncer in transaction mode in front of a test server, on a free
// port, with its own ini, userlist, log and pid file in a temp directory. PgBouncer refuses to
// run as root, so as root it drops to the postgres user (-u). stop() always ends it (SIGINT,
// then SIGKILL) and removes the directory.
// Strict about session state: after every transaction the server connection is reset with
// DISCARD ALL (server_reset_query_always), so whatever a client left on it (a prepared
// statement, a SET, a session advisory lock, a temp table) is gone before its next transaction,
// even when that transaction gets the same server connection. What a real pool does only
// sometimes (hand the next transaction another connection) happens here every time.
// https://www.pgbouncer.org/config.html
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { chownSync, chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.js';

export const PGBOUNCER_BIN = process.env.DBOPT_TEST_PGBOUNCER ?? '/usr/sbin/pgbouncer';

export interface TestPgBouncer {
  port: number;
  /** `url` with host and port replaced by the pooler's. */
  pooled(url: string): string;
  /** Text of PgBouncer's log so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

export function pgbouncerAvailable(): boolean {
  return existsSync(PGBOUNCER_BIN);
}

export async function startPgBouncer(
  serverUrl: string,
  opts: { poolMode?: 'transaction' | 'session'; poolSize?: number; strict?: boolean } = {},
): Promise<TestPgBouncer> {
  const server = new URL(serverUrl);
  const user = decodeURIComponent(server.username) || 'postgres';
  const password = decodeURIComponent(server.password);
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-test-pgbouncer-'));
  chmodSync(dir, 0o755);
  const port = await freePort();
  const logFile = path.join(dir, 'pgbouncer.log');
  const ini = [
    '[databases]',
    `* = host=${server.hostname} port=${server.port || 5432}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    // Clients authenticate to PgBouncer with the same password PgBouncer uses for the server.
    // A server reached without a password (trust, as the system PostgreSQL here) gets trust too.
    `auth_type = ${password ? 'scram-sha-256' : 'trust'}`,
    `auth_file = ${path.join(dir, 'userlist.txt')}`,
    `pool_mode = ${opts.poolMode ?? 'transaction'}`,
    `default_pool_size = ${opts.poolSize ?? 10}`,
    'max_client_conn = 200',
    'ignore_startup_parameters = extra_float_digits',
    `logfile = ${logFile}`,
    `pidfile = ${path.join(dir, 'pgbouncer.pid')}`,
    'server_login_retry = 1',
    ...(opts.strict === false ? [] : ['server_reset_query = DISCARD ALL', 'server_reset_query_always = 1']),
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'pgbouncer.ini'), ini);
  const q = (s: string): string => `"${s.replace(/"/g, '""')}"`;
  writeFileSync(path.join(dir, 'userlist.txt'), `${q(user)} ${q(password || 'unused')}\n`, { mode: 0o600 });
  writeFileSync(logFile, '');
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    for (const f of ['', 'pgbouncer.ini', 'userlist.txt', 'pgbouncer.log']) chownSync(path.join(dir, f), uid, gid);
  }
  const args = [...(asRoot ? ['-u', 'postgres'] : []), path.join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(PGBOUNCER_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = (): string => `${stderr}${existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''}`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 20_000;
  while (!(await listening(port))) {
    if (child.exitCode !== null || Date.now() > until) {
      const text = log();
      await stop();
      throw new Error(`PgBouncer did not start on port ${port}:\n${text.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const pooled = (url: string): string => {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(port);
    return u.toString();
  };
  return { port, pooled, log, stop };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
