// startOwnServer(): a PostgreSQL server a single test owns (embedded PostgreSQL 18 in a temp
// directory), for tests that must not touch the run's shared server: TLS settings, a custom
// pg_hba.conf, and freezing it (SIGSTOP to the postmaster and every backend, then SIGCONT).
import { chmodSync, chownSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { startEmbedded } from '../../src/db/embedded.js';

export interface OwnServer {
  adminUrl: string;
  port: number;
  dataDir: string;
  /** Directory for the test's own files (certificates, hba), readable by the server. */
  dir: string;
  password: string;
  freeze(): number[];
  resume(): void;
  frozen: boolean;
  stop(): Promise<void>;
}

export interface OwnServerOptions {
  settings?: Record<string, string>;
  /** Extra files written into `dir` before start, readable only by the server's user. */
  files?: Record<string, string>;
}

/** The uid/gid the embedded server runs as (postgres when the tests run as root). */
function serverIds(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  try {
    execFileSync('id', ['-u', 'postgres'], { stdio: 'ignore' });
  } catch {
    execFileSync('groupadd', ['-f', 'postgres'], { stdio: 'ignore' });
    execFileSync('useradd', ['-g', 'postgres', 'postgres'], { stdio: 'ignore' });
  }
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  return { uid, gid };
}

export async function startOwnServer(opts: OwnServerOptions = {}): Promise<OwnServer> {
  const base = mkdtempSync(path.join(tmpdir(), 'dbopt-own-pg-'));
  chmodSync(base, 0o755);
  const dir = path.join(base, 'files');
  execFileSync('mkdir', ['-p', dir]);
  const settings: Record<string, string> = {};
  const ids = serverIds();
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    const file = path.join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    if (ids) chownSync(file, ids.uid, ids.gid);
  }
  for (const [k, v] of Object.entries(opts.settings ?? {})) settings[k] = v.replaceAll('$DIR', dir);
  if (ids) chownSync(dir, ids.uid, ids.gid);
  const running = await startEmbedded({ dir: path.join(base, 'pg'), database: 'postgres', settings });
  const password = decodeURIComponent(new URL(running.adminUrl).password);
  let stopped: number[] = [];
  const own: OwnServer = {
    adminUrl: running.adminUrl,
    port: running.port,
    dataDir: running.dataDir,
    dir,
    password,
    frozen: false,
    freeze() {
      const postmaster = Number(readFileSync(path.join(running.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      // The postmaster first, so it forks nothing new, then every process below it.
      process.kill(postmaster, 'SIGSTOP');
      stopped = [postmaster, ...descendants(postmaster)];
      for (const pid of stopped.slice(1)) process.kill(pid, 'SIGSTOP');
      own.frozen = true;
      return stopped;
    },
    resume() {
      for (const pid of stopped) {
        try {
          process.kill(pid, 'SIGCONT');
        } catch {
          // gone
        }
      }
      own.frozen = false;
    },
    async stop() {
      if (own.frozen) own.resume();
      await running.stop();
      rmSync(base, { recursive: true, force: true });
    },
  };
  return own;
}

/** Every process below `pid`, from /proc/PID/stat parent links. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parentOf.set(Number(entry), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        queue.push(child);
      }
    }
  }
  return out;
}

/** Pids of processes whose command line mentions `needle` (to prove none is left behind). */
export function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) found.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
