// dbopt migrate status: every migration file and every applied migration, with its state
// (applied, pending, edited after it was applied, applied but missing from disk). Read-only.
import type { MigrationStatus, StatusResult } from './index.js';
import { connect, type ConnectionTarget } from '../db/connection.js';
import { fileChecksum, readChecksums } from './checksums.js';
import { appliedMigrations, listMigrationFiles } from './files.js';

export async function migrationStatus(opts: { target: ConnectionTarget; dir: string }): Promise<StatusResult> {
  const files = listMigrationFiles(opts.dir);
  const client = await connect(opts.target);
  try {
    const applied = await appliedMigrations(client);
    const sums = await readChecksums(client);
    const byName = new Map(applied.map((a) => [a.name, a]));
    const out: MigrationStatus[] = files.map((f) => {
      const a = byName.get(f.name);
      const sum = sums.get(f.name);
      const state = !a ? 'pending' : sum && sum !== fileChecksum(f.file) ? 'modified' : 'applied';
      return { name: f.name, file: f.file, state, appliedAt: a?.runOn.toISOString() };
    });
    for (const a of applied) {
      if (files.some((f) => f.name === a.name)) continue;
      out.push({ name: a.name, state: 'missing', appliedAt: a.runOn.toISOString() });
    }
    return { server: opts.target.display, migrations: out };
  } finally {
    await client.end().catch(() => undefined);
  }
}
