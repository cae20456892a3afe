// dbopt seed stopped by SIGTERM: exit 143, the load rolled back, and nothing of it still
// running on the server (a busy backend would otherwise finish its statement first).
import { describe, expect, it, afterAll, beforeAll } from 'vitest';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { MIGRATIONS_DIR, SEEDS_DIR } from '../helpers/workload.js';
import { runCli } from '../helpers/cli.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { migrate } from '../../src/migrate/index.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('pgAdminUrl'), 'dbopt_seed_e2e');
  await migrate({ target: targetFromUrl(db.url, 'test'), dir: MIGRATIONS_DIR });
});
afterAll(async () => {
  await db?.drop();
});

describe('dbopt seed', () => {
  it('SIGTERM during the load cancels it on the server and exits 143', async () => {
    const r = await runCli(['seed', '--scale', '5', '--dir', SEEDS_DIR], {
      env: { DATABASE_URL: db.url },
      onSpawn: (child) => {
        child.stderr?.on('data', (d: Buffer) => {
          if (d.toString().includes('06_messages')) setTimeout(() => child.kill('SIGTERM'), 300);
        });
      },
    });
    expect(r.code, r.stderr).toBe(143);
    // The cancel reaches the backend at once; allow the server a moment to clean up.
    let active = 1;
    for (let i = 0; i < 20 && active > 0; i++) {
      const { rows } = await db.client.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'dbopt'`,
      );
      active = Number(rows[0]!.n);
      if (active > 0) await new Promise((res) => setTimeout(res, 100));
    }
    expect(active).toBe(0);
    const { rows } = await db.client.query<{ n: string }>('SELECT count(*) AS n FROM users');
    expect(Number(rows[0]!.n)).toBe(0);
  });
});
