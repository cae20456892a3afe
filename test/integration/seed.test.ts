// The data generator: row counts follow the scale formula of seeds/README.md, and two
// loads at the same scale give identical rows.
import { describe, expect, it, afterAll } from 'vitest';
import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { createWorkloadDatabase, MIGRATIONS_DIR, SEEDS_DIR } from '../helpers/workload.js';
import type { TestDb } from '../helpers/db.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { migrate } from '../../src/migrate/index.js';
import { seed } from '../../src/seed/index.js';

const TABLES = ['bots', 'bot_configs', 'users', 'sessions', 'conversations', 'messages', 'events'];
const expected = (n: number) => ({
  bots: 5 * n,
  bot_configs: 5 * n,
  users: 20_000 * n,
  sessions: 20_000 * n,
  conversations: 30_000 * n,
  messages: 300_000 * n,
  events: 200_000 * n,
});

async function fingerprint(client: TestDatabase['client']): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLES) {
    const { rows } = await client.query<{ h: string }>(
      `SELECT md5(string_agg(x::text, ',' ORDER BY x::text)) AS h FROM ${t} AS x`,
    );
    out[t] = rows[0]!.h;
  }
  return out;
}

let fresh: TestDatabase | undefined;
let cloned: TestDb | undefined;
afterAll(async () => {
  await fresh?.drop();
  await cloned?.drop();
});

describe('seed', () => {
  it('loads scale 1 with the documented counts, identically twice, and skips a rerun', async () => {
    fresh = await createTestDatabase(inject('pgAdminUrl'), 'dbopt_seed');
    const target = targetFromUrl(fresh.url, 'test');
    await migrate({ target, dir: MIGRATIONS_DIR });
    const first = await seed({ target, dir: SEEDS_DIR, scale: 1 });
    expect(first.skipped).toBe(false);
    expect(first.rows).toEqual(expected(1));
    const { rows } = await fresh.client.query<{ n: string }>(
      `SELECT count(*) AS n FROM conversations WHERE status = 'active'`,
    );
    expect(Number(rows[0]!.n)).toBe(1500);

    // The template of the other test files was loaded by an earlier, separate run.
    cloned = await createWorkloadDatabase(inject('pgAdminUrl'), 1);
    expect(await fingerprint(fresh.client)).toEqual(await fingerprint(cloned.client));

    const again = await seed({ target, dir: SEEDS_DIR, scale: 1 });
    expect(again.skipped).toBe(true);
    expect(again.reason).toContain('--force');

    const forced = await seed({ target, dir: SEEDS_DIR, scale: 1, force: true });
    expect(forced.skipped).toBe(false);
    expect(forced.rows).toEqual(expected(1));
  });
});
