// The built `dbopt audit` refuses `SELECT pg_terminate_backend(pid) FROM pg_stat_activity`
// before anything runs: exit 2 naming the function, file and line, and the victim session
// survives. (Every other refused function: test/integration/audit-admin.test.ts.)
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { withTestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

const db = withTestDatabase('dbopt_e2e_admin');
const root = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-admin-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('dbopt audit refuses administration functions in query files', () => {
  it('pg_terminate_backend: exit 2 naming it, file and line; the victim survives', async () => {
    const victim = new pg.Client({ connectionString: db.get().url });
    await victim.connect();
    const victimPid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    try {
      writeFileSync(
        path.join(root, 'kill.sql'),
        '-- name: kill\n-- tier: hot\nSELECT pg_terminate_backend(pid)\n  FROM pg_stat_activity\n WHERE datname = current_database();\n',
      );
      const r = await runCli(['audit', '--queries', root, '--runs', '1'], {
        cwd: root,
        env: { DATABASE_URL: db.get().url },
      });
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('kill.sql:3:8: calls pg_terminate_backend(), which ends or cancels other sessions');
      expect(r.stdout).toBe('');
      expect((await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid).toBe(victimPid);
    } finally {
      await victim.end();
    }
  });
});
