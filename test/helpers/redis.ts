// Redis for the cache-tier tests: the shared test server at DBOPT_TEST_REDIS_URL (default
// redis://127.0.0.1:6379; each test file writes only to its own logical database and empties
// it after), and private redis-server processes on free ports for what needs a server of its
// own (exact global counters, commandstats, requirepass). Under CI=true a missing Redis fails
// the tests instead of skipping them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createClient } from '@redis/client';

export const TEST_REDIS_URL = process.env.DBOPT_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

/** The shared test server's URL for logical database `db`. */
export function testRedisUrl(db: number): string {
  const u = new URL(TEST_REDIS_URL);
  u.pathname = `/${db}`;
  return u.toString();
}

function ping(url: string, caFile?: string): boolean {
  const u = new URL(url);
  const args = ['-h', u.hostname, '-p', u.port || '6379', '--no-auth-warning'];
  if (caFile) args.push('--tls', '--cacert', caFile);
  if (u.password) args.push('-a', decodeURIComponent(u.password));
  const r = spawnSync('redis-cli', [...args, 'PING'], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 && r.stdout.trim() === 'PONG';
}

const hasServerBinary = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).status === 0;
const reachable = hasServerBinary && ping(TEST_REDIS_URL);
if (!reachable && process.env.CI === 'true') {
  throw new Error(
    `Redis is required under CI=true: no redis-server binary or nothing answers at ${TEST_REDIS_URL} (.ci/run starts one)`,
  );
}
/** True when the cache tests must be skipped (never under CI=true, where they fail instead). */
export const noRedis = !reachable;

export interface Raw {
  sendCommand(args: string[]): Promise<unknown>;
  close(): Promise<void>;
}

/** A plain client for the test's own set-up writes (not dbopt's reader). */
export async function rawClient(url: string): Promise<Raw> {
  const c = createClient({ url, RESP: 2, disableClientInfo: true });
  c.on('error', () => undefined);
  await c.connect();
  return c as unknown as Raw;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export interface PrivateRedis {
  port: number;
  /** With tls: the CA that signed the server's certificate (for NODE_EXTRA_CA_CERTS). */
  caFile?: string;
  /** redis://[:password@]127.0.0.1:port/0 (password percent-encoded). */
  url: string;
  stop(): Promise<void>;
}

/** A throwaway CA and a server certificate for 127.0.0.1 (openssl), in a temporary directory. */
function testCertificates(): { dir: string; ca: string; cert: string; key: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-redis-tls-'));
  const f = (n: string): string => path.join(dir, n);
  const run = (args: string[]): void => {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  writeFileSync(f('ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=dbopt test CA',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    '/CN=127.0.0.1',
  ]);
  run([
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '1',
    '-extfile',
    f('ext.cnf'),
  ]);
  return { dir, ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

/** A redis-server of the test's own on a free port (no persistence, TLS only with tls); stop() ends it. */
export async function startPrivateRedis(opts: { password?: string; tls?: boolean } = {}): Promise<PrivateRedis> {
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  const certs = opts.tls ? testCertificates() : undefined;
  if (certs) {
    args.push(
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--tls-cert-file',
      certs.cert,
      '--tls-key-file',
      certs.key,
      '--tls-ca-cert-file',
      certs.ca,
      '--tls-auth-clients',
      'no',
    );
  } else {
    args.push('--port', String(port));
  }
  if (opts.password) args.push('--requirepass', opts.password);
  const child: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  const auth = opts.password ? `:${encodeURIComponent(opts.password)}@` : '';
  const url = `${certs ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}/0`;
  for (let i = 0; i < 100 && !ping(url, certs?.ca); i++) await new Promise((r) => setTimeout(r, 50));
  child.once('exit', () => {
    if (certs) rmSync(certs.dir, { recursive: true, force: true });
  });
  return {
    port,
    caFile: certs?.ca,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** INFO commandstats as name -> calls ("config|get": 1). */
export async function commandStats(c: Raw): Promise<Record<string, number>> {
  const text = String(await c.sendCommand(['INFO', 'commandstats']));
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}
