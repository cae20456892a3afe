// Query files calling server-administration or side-effect functions are refused from the parse
// tree, naming the function and file:line:column; ordinary functions and pg_sleep pass.
import { describe, expect, it } from 'vitest';
import { adminEffect } from '../../src/audit/adminFunctions.js';
import { parseQueryFile } from '../../src/audit/queryFile.js';
import { UsageError } from '../../src/errors.js';
import { ADMIN_CALLS } from '../fixtures/audit/adminCalls.js';

const tiers = { hot: 50, warm: 80, cold: 100 };
const parse = (text: string): ReturnType<typeof parseQueryFile> => parseQueryFile(text, 'queries/q.sql', { tiers });

async function refusal(text: string): Promise<UsageError> {
  try {
    await parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error(`expected a refusal of: ${text}`);
}

describe('administration and side-effect functions in query files', () => {
  for (const [fn, sql] of Object.entries(ADMIN_CALLS)) {
    it(`refuses ${fn}`, async () => {
      const err = await refusal(`-- name: bad\n-- tier: hot\n${sql};\n`);
      expect(err.exitCode).toBe(2);
      expect(err.message).toMatch(new RegExp(`^queries/q\\.sql:3:\\d+: calls ${fn}\\(\\)`));
    });
  }

  it('sees schema-qualified names, nested calls, CTEs and subqueries, with the column', async () => {
    const err = await refusal(
      '-- tier: hot\nSELECT id,\n       pg_catalog.pg_terminate_backend(id)\n  FROM (SELECT 1 AS id) AS t',
    );
    expect(err.message).toMatch(
      /^queries\/q\.sql:3:8: calls pg_catalog\.pg_terminate_backend\(\), which ends or cancels other sessions/,
    );
    const cte = await refusal(
      "-- tier: hot\nWITH x AS (SELECT coalesce(pg_advisory_lock(1)::text, '') AS a) SELECT * FROM x",
    );
    expect(cte.message).toMatch(/calls pg_advisory_lock\(\)/);
    const where = await refusal("-- tier: hot\nSELECT 1 WHERE EXISTS (SELECT public.dblink_connect('x'))");
    expect(where.message).toMatch(/calls public\.dblink_connect\(\)/);
  });

  it('names every other such call of the file in the message', async () => {
    const err = await refusal("-- tier: hot\nSELECT pg_reload_conf(), pg_notify('a', 'b'), pg_notify('c', 'd')");
    expect(err.message).toMatch(/calls pg_reload_conf\(\), which controls the server \(also pg_notify\(\)\)/);
  });

  it('refuses them in -- params-from: too, pointing at that line', async () => {
    const err = await refusal(
      '-- tier: hot\n-- params-from: SELECT pg_cancel_backend(pid) FROM pg_stat_activity\nSELECT $1::int',
    );
    expect(err.message).toMatch(/^queries\/q\.sql:2:\d+: calls pg_cancel_backend\(\)/);
  });

  it('lets ordinary functions, pg_sleep and similarly named columns through', async () => {
    await expect(
      parse("-- budget: 2s\nSELECT pg_sleep(0.01), now(), lower('A'), count(*) FROM (SELECT 1 AS nextval) AS t"),
    ).resolves.toBeDefined();
    await expect(
      parse('-- tier: hot\nSELECT pid, state FROM pg_stat_activity WHERE datname = current_database()'),
    ).resolves.toBeDefined();
    expect(adminEffect('pg_sleep')).toBeUndefined();
    expect(adminEffect('pg_backend_pid')).toBeUndefined();
    expect(adminEffect('PG_CATALOG.SET_CONFIG')).toBeDefined();
  });
});
