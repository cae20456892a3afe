// audit() refuses every administration or side-effect function of a query file against a real
// server before anything runs: a UsageError (exit 2) naming it, file and line; a victim session
// survives pg_terminate_backend, a listener hears nothing, no advisory lock is taken, the
// sequence is not advanced and no setting changed.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { REPO_ROOT } from '../helpers/cli.js';
import { resolveConfig } from '../../src/config.js';
import { audit } from '../../src/audit/index.js';
import { UsageError } from '../../src/errors.js';
import { ADMIN_CALLS } from '../fixtures/audit/adminCalls.js';

const db = withTestDatabase('dbopt_admin');
const root = mkdtempSync(path.join(tmpdir(), 'dbopt-admin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const config = resolveConfig({}, { rootDir: REPO_ROOT, env: {}, overrides: {} });

describe('audit() and administration functions', () => {
  it('refuses each one, naming it, file and line, and nothing ran', async () => {
    const c = db.get().client;
    await c.query('CREATE SEQUENCE s');
    const victim = new pg.Client({ connectionString: db.get().url });
    await victim.connect();
    const heard: string[] = [];
    victim.on('notification', (n) => heard.push(n.channel));
    await victim.query('LISTEN c');
    const victimPid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      for (const [fn, sql] of Object.entries(ADMIN_CALLS)) {
        const dir = path.join(root, fn);
        mkdirSync(dir, { recursive: true });
        writeFileSync(
          path.join(dir, `${fn}.sql`),
          `-- name: ${fn}\n-- tier: hot\n\n${sql.replace(/pid <> pg_backend_pid\(\)/, 'true')};\n`,
        );
        const run = audit({
          target: db.get().target,
          audit: { ...config.audit, runs: 1, warmup: 0 },
          refresh: config.refresh,
          queriesDir: dir,
          baselineFile: path.join(dir, 'baseline.json'),
        });
        await expect(run, fn).rejects.toBeInstanceOf(UsageError);
        await expect(run, fn).rejects.toThrow(new RegExp(`${fn}\\.sql:4:\\d+: calls ${fn}\\(\\)`));
      }
      expect((await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid).toBe(victimPid);
      expect(heard).toEqual([]);
      const { rows } = await c.query<{ locks: string; called: boolean }>(
        `SELECT (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS locks,
                (SELECT is_called FROM s) AS called`,
      );
      expect(rows[0]).toEqual({ locks: '0', called: false });
    } finally {
      await victim.end();
    }
  });
});
