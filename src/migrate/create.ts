// dbopt migrate create NAME: the next numbered SQL file with both sections, never overwriting.
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.js';

export function createMigration(dir: string, name: string): string {
  if (!/^[a-z0-9_]+$/i.test(name))
    throw new UsageError(`migration name must be letters, digits and underscores, got ${JSON.stringify(name)}`, {
      hint: 'Use a name like add_users_email_index.',
    });
  mkdirSync(dir, { recursive: true });
  const existing = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+_/.test(f)) : [];
  const next = existing.reduce((max, f) => Math.max(max, Number(/^(\d+)_/.exec(f)?.[1] ?? 0)), 0) + 1;
  const file = path.join(dir, `${String(next).padStart(4, '0')}_${name}.sql`);
  writeFileSync(
    file,
    `-- Up Migration\n-- One change per file. An index on an existing table: CREATE INDEX CONCURRENTLY, alone in\n-- this file (dbopt runs it outside a transaction, heals and verifies it).\n\n\n-- Down Migration\n`,
    { flag: 'wx' },
  );
  return file;
}
