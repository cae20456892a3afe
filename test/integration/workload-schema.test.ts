// The reference schema: up, down, up on a fresh database; every index valid and of the
// intended kind; every materialized view refreshable concurrently.
import { describe, expect, it } from 'vitest';
import { withTestDatabase } from '../helpers/db.js';
import { MIGRATIONS_DIR } from '../helpers/workload.js';
import { migrate, migrationStatus, listMigrationFiles } from '../../src/migrate/index.js';

const db = withTestDatabase('dbopt_schema');

async function indexes() {
  const { rows } = await db.get().client.query<{
    name: string;
    table: string;
    method: string;
    valid: boolean;
    partial: boolean;
    include: number;
    def: string;
    opclass: string;
  }>(`
    SELECT i.relname AS name,
           t.relname AS table,
           am.amname AS method,
           x.indisvalid AS valid,
           x.indpred IS NOT NULL AS partial,
           x.indnatts - x.indnkeyatts AS include,
           pg_get_indexdef(x.indexrelid) AS def,
           coalesce((SELECT string_agg(oc.opcname, ',') FROM unnest(x.indclass) AS c(oid) JOIN pg_opclass oc ON oc.oid = c.oid), '') AS opclass
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_am am ON am.oid = i.relam
      JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname IN ('public', 'analytics')`);
  return new Map(rows.map((r) => [r.name, r]));
}

describe('reference schema migrations', () => {
  it('migrates up, down to nothing, and up again', async () => {
    const target = db.get().target;
    const files = listMigrationFiles(MIGRATIONS_DIR);
    const up = await migrate({ target, dir: MIGRATIONS_DIR, direction: 'up' });
    expect(up.ran.map((r) => r.name)).toEqual(files.map((f) => f.name));
    const down = await migrate({ target, dir: MIGRATIONS_DIR, direction: 'down', count: files.length });
    expect(down.ran).toHaveLength(files.length);
    const { rows } = await db
      .get()
      .client.query(
        `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'analytics') AND c.relkind IN ('r', 'm', 'i')`,
      );
    expect(rows).toEqual([]);
    const again = await migrate({ target, dir: MIGRATIONS_DIR, direction: 'up' });
    expect(again.ran).toHaveLength(files.length);
    const status = await migrationStatus({ target, dir: MIGRATIONS_DIR });
    expect(status.migrations.every((m) => m.state === 'applied')).toBe(true);
  });

  it('builds every reference index valid and of the intended kind', async () => {
    const idx = await indexes();
    expect([...idx.values()].filter((i) => !i.valid)).toEqual([]);
    const cover = idx.get('users_bot_telegram_cover');
    expect(cover?.method).toBe('btree');
    expect(cover?.include).toBeGreaterThanOrEqual(3);
    expect(idx.get('conversations_user_active')?.partial).toBe(true);
    expect(idx.get('sessions_user_live')?.partial).toBe(true);
    const gins = [...idx.values()].filter((i) => i.method === 'gin');
    expect(gins.map((g) => g.table).sort()).toEqual(['events', 'users']);
    expect(gins.every((g) => g.opclass.includes('jsonb_path_ops'))).toBe(true);
    expect(idx.get('messages_conversation_recent')?.def).toMatch(/\(conversation_id, created_at DESC\)/);
  });

  it('gives every materialized view a unique index on plain columns without WHERE', async () => {
    const { rows } = await db.get().client.query<{ view: string; ok: boolean }>(`
      SELECT format('%I.%I', n.nspname, c.relname) AS view,
             EXISTS (SELECT 1 FROM pg_index x
                      WHERE x.indrelid = c.oid AND x.indisunique AND x.indisvalid
                        AND x.indpred IS NULL AND x.indexprs IS NULL) AS ok
        FROM pg_class c
        JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE c.relkind = 'm'`);
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.filter((r) => !r.ok)).toEqual([]);
  });
});
