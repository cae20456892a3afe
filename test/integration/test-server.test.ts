// The run's server offers what the suite and the reference workload rely on, whichever backend
// started it: the contrib extensions dbopt uses, and (on the servers the suite starts itself,
// embedded or testcontainers) pg_stat_statements preloaded and readable.
import { describe, expect, inject, it } from 'vitest';
import { withTestDatabase } from '../helpers/db.js';

const db = withTestDatabase('dbopt_server');
const startedHere = inject('pgBackend') !== 'url';

describe('test server', () => {
  it('offers pg_stat_statements, pg_buffercache, pg_trgm and btree_gin', async () => {
    const { rows } = await db.get().client.query<{ name: string }>(
      `SELECT name
         FROM pg_available_extensions
        WHERE name = ANY ($1)
        ORDER BY name`,
      [['btree_gin', 'pg_buffercache', 'pg_stat_statements', 'pg_trgm']],
    );
    expect(rows.map((r) => r.name)).toEqual(['btree_gin', 'pg_buffercache', 'pg_stat_statements', 'pg_trgm']);
  });

  it('creates pg_trgm and btree_gin indexes', async () => {
    const c = db.get().client;
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await c.query('CREATE EXTENSION IF NOT EXISTS btree_gin');
    await c.query('CREATE TABLE words (id int, w text)');
    await c.query('CREATE INDEX words_trgm ON words USING gin (w gin_trgm_ops)');
    await c.query('CREATE INDEX words_id_gin ON words USING gin (id)');
    const { rows } = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'words'`,
    );
    expect(rows[0]!.n).toBe(2);
  });

  it.skipIf(!startedHere)('preloads pg_stat_statements so it can be read', async () => {
    const c = db.get().client;
    const { rows } = await c.query<{ shared_preload_libraries: string }>('SHOW shared_preload_libraries');
    expect(rows[0]!.shared_preload_libraries.split(',').map((s) => s.trim())).toContain('pg_stat_statements');
    await c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await c.query('SELECT 4242 AS dbopt_marker');
    const seen = await c.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_statements WHERE query LIKE 'SELECT $1 AS dbopt_marker%'`,
    );
    expect(seen.rows[0]!.n).toBeGreaterThan(0);
  });
});
