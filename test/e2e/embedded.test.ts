// A fresh checkout with nothing configured: `dbopt --embedded migrate` and
// `dbopt --embedded seed --scale 1` start the embedded PostgreSQL 18 in .dbopt/embedded/,
// keep its data there, and succeed.
import { describe, expect, it, afterAll } from 'vitest';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-checkout-'));
cpSync(path.join(REPO_ROOT, 'migrations'), path.join(dir, 'migrations'), { recursive: true });
cpSync(path.join(REPO_ROOT, 'seeds'), path.join(dir, 'seeds'), { recursive: true });

afterAll(async () => {
  // The embedded server stops when each command ends; make sure no postmaster is left behind.
  const pidFile = path.join(dir, '.dbopt', 'embedded', 'data', 'postmaster.pid');
  expect(existsSync(pidFile)).toBe(false);
  rmSync(dir, { recursive: true, force: true });
});

// Uses its own embedded server, whatever the suite's backend: run once, not again per backend.
describe.skipIf(Boolean(process.env.DBOPT_TEST_DATABASE_URL))('--embedded on a fresh checkout', () => {
  it('migrates, then seeds scale 1, with the data kept in .dbopt/embedded', async () => {
    const m = await runCli(['--embedded', 'migrate'], { cwd: dir });
    expect(m.stderr).toContain('embedded PostgreSQL');
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/\d+ migrations applied/);
    expect(existsSync(path.join(dir, '.dbopt', 'embedded', 'data', 'PG_VERSION'))).toBe(true);

    const s = await runCli(['--embedded', '--format', 'json', 'seed', '--scale', '1'], { cwd: dir });
    expect(s.code).toBe(0);
    const out = JSON.parse(s.stdout);
    expect(out.result.skipped).toBe(false);
    expect(out.result.rows.users).toBeGreaterThan(0);

    const again = await runCli(['--embedded', 'migrate'], { cwd: dir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Nothing to migrate');
  });

  it('a --watch on the embedded server stops on SIGTERM with exit 0 and stops the server', async () => {
    const r = await runCli(['--embedded', 'refresh-views', '--watch'], {
      cwd: dir,
      onSpawn: (child) => {
        child.stderr?.on('data', (d: Buffer) => {
          if (d.toString().includes('Watching')) setTimeout(() => child.kill('SIGTERM'), 500);
        });
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.join(dir, '.dbopt', 'embedded', 'data', 'postmaster.pid'))).toBe(false);
  });
});
