// The newcomer path of the README on a fresh copy of the repository: git clone, npm install,
// npx dbopt demo (exit 0, every stage printed), then again (exit 0, nothing pending).
import { describe, expect, it, afterAll } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT, cleanEnv } from '../helpers/cli.js';
import { excerptBody, normalize, readExcerpts, writeExcerpt } from '../helpers/readme.js';

const base = mkdtempSync(path.join(tmpdir(), 'dbopt-newcomer-'));
const clone = path.join(base, 'dbopt');

afterAll(() => {
  rmSync(base, { recursive: true, force: true });
});

function run(cmd: string, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd: clone,
    env: cleanEnv(),
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

// It uses the embedded server of the clone, not the suite's: run once, not again per backend.
describe.skipIf(Boolean(process.env.DBOPT_TEST_DATABASE_URL))('newcomer path', () => {
  it('npm install && npx dbopt demo works on a fresh clone, and again', async () => {
    execFileSync('git', ['clone', '--quiet', REPO_ROOT, clone]);
    const install = run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline']);
    expect(install.code, install.stderr).toBe(0);
    expect(existsSync(path.join(clone, 'dist', 'cli', 'index.js'))).toBe(true);

    const first = run('npx', ['dbopt', 'demo']);
    expect(first.code, first.stderr).toBe(0);
    for (const stage of ['1/5 migrate', '2/5 seed', '3/5 refresh-views', '4/5 audit', '5/5 report'])
      expect(first.stdout).toContain(stage);
    expect(first.stdout).toContain('20 migrations applied');
    expect(first.stdout).toContain('Audit passed');
    expect(first.stdout).toContain('DATABASE_URL');
    // The README's demo excerpt is this output (npm run readme rewrites it).
    const ex = readExcerpts().find((e) => e.args[0] === 'demo')!;
    if (process.env.DBOPT_WRITE_README === '1') writeExcerpt(ex.spec, excerptBody(ex, first.stdout));
    else expect(normalize(ex.body, ex.shape)).toEqual(normalize(excerptBody(ex, first.stdout), ex.shape));

    const second = run('npx', ['dbopt', 'demo']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('Nothing to migrate');
    expect(second.stdout).toContain('Nothing was pending');
  }, 900_000);
});
