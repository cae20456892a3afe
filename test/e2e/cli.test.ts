// The built binary: help, exit codes, config errors, connection errors, password hygiene.
import { describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { runCli } from '../helpers/cli.js';

const NASTY = 'p@ss:w/o#rd?&%=x y';

describe('dbopt CLI', () => {
  it('--help lists every command and the exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['migrate', 'seed', 'refresh-views', 'audit', 'report', 'demo']) expect(r.stdout).toContain(cmd);
    for (const line of [
      '0    clean',
      '1    findings',
      '2    usage or config error',
      '3    cannot connect',
      '4    busy',
      '130',
      '143',
    ]) {
      expect(r.stdout).toContain(line);
    }
  });

  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('no command shows the help and exits 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toContain('Usage: dbopt');
  });

  it('an --output path that cannot be written exits 2 naming it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-'));
    mkdirSync(path.join(dir, 'migrations'));
    const r = await runCli(['--output', path.join(dir, 'missing', 'x.json'), 'migrate', 'status'], {
      cwd: dir,
      env: { DATABASE_URL: inject('pgAdminUrl') },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(path.join(dir, 'missing', 'x.json'));
  });

  it('a password equal to the user name leaves user@host:port/db readable', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-'));
    mkdirSync(path.join(dir, 'migrations'));
    const r = await runCli(['migrate', 'status'], {
      cwd: dir,
      env: { DATABASE_URL: 'postgres://postgres:postgres@127.0.0.1:1/postgres' },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('postgres@127.0.0.1:1/postgres');
    expect(r.stderr).not.toContain('postgres:postgres');
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const r = await runCli(['migrate', '--frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown option');
  });

  it('a config with three mistakes exits 2 naming all three key paths', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-'));
    writeFileSync(
      path.join(dir, 'dbopt.config.json'),
      JSON.stringify({
        migrate: { lockTimeout: 'two seconds' },
        audit: { runs: 0 },
        refresh: { concurency: 2 },
      }),
    );
    const r = await runCli(['migrate', 'status'], { cwd: dir, env: { DATABASE_URL: 'postgres://u@127.0.0.1:1/x' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('migrate.lockTimeout');
    expect(r.stderr).toContain('audit.runs');
    expect(r.stderr).toContain('refresh.concurency');
    expect(r.stderr).toContain('3 problems');
  });

  it('no connection configured exits 2 with guidance', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-'));
    const r = await runCli(['migrate', 'status'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('DATABASE_URL');
    expect(r.stderr).toContain('--embedded');
  });

  it('a wrong password exits 3 naming user@host:port/db and never shows the password', async () => {
    const admin = new URL(inject('pgAdminUrl'));
    const url = `postgres://dbopt_nobody:${encodeURIComponent(NASTY)}@${admin.hostname}:${admin.port || 5432}/postgres`;
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-'));
    mkdirSync(path.join(dir, 'migrations'));
    for (const args of [
      ['--database-url', url, 'migrate', 'status'],
      ['--format', 'json', '--database-url', url, 'migrate', 'status'],
    ]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`dbopt_nobody@${admin.hostname}:${admin.port || 5432}/postgres`);
      for (const out of [r.stdout, r.stderr]) {
        expect(out).not.toContain(NASTY);
        expect(out).not.toContain(encodeURIComponent(NASTY));
        expect(out).not.toContain('p@ss');
      }
    }
  });

  it('an unreachable server exits 3', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-'));
    mkdirSync(path.join(dir, 'migrations'));
    const r = await runCli(['migrate', 'status'], {
      cwd: dir,
      env: { DATABASE_URL: 'postgres://u:secret@127.0.0.1:1/x' },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('u@127.0.0.1:1/x');
    expect(r.stderr).not.toContain('secret');
  });
});
