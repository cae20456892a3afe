// Checksums of applied migrations in dbopt.migration_checksums: an applied file that was
// edited or deleted since is an error naming it (node-pg-migrate records names only).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client } from 'pg';

export const CHECKSUMS_TABLE = 'dbopt.migration_checksums';

export function fileChecksum(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

export async function ensureChecksumsTable(client: Client): Promise<void> {
  await client.query(`CREATE TABLE IF NOT EXISTS ${CHECKSUMS_TABLE} (
    name       text PRIMARY KEY,
    sha256     text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
  )`);
}

/** name -> sha256; empty when the table does not exist (read-only: creates nothing). */
export async function readChecksums(client: Client): Promise<Map<string, string>> {
  const { rows } = await client.query<{ exists: boolean }>('SELECT to_regclass($1) IS NOT NULL AS exists', [
    CHECKSUMS_TABLE,
  ]);
  if (!rows[0]?.exists) return new Map();
  const res = await client.query<{ name: string; sha256: string }>(
    `SELECT name, sha256
       FROM ${CHECKSUMS_TABLE}`,
  );
  return new Map(res.rows.map((r) => [r.name, r.sha256]));
}

export async function recordChecksum(client: Client, name: string, sha: string): Promise<void> {
  await client.query(
    `INSERT INTO ${CHECKSUMS_TABLE} (name, sha256)
     VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE
       SET sha256 = excluded.sha256,
           applied_at = now()`,
    [name, sha],
  );
}

/**
 * The same upsert as text, for node-pg-migrate's step list, so it commits in the migration's
 * own transaction. Steps cannot carry bind parameters; the values are escaped literals.
 */
export function recordChecksumStep(client: Client, name: string, sha: string): string {
  return `INSERT INTO ${CHECKSUMS_TABLE} (name, sha256) VALUES (${client.escapeLiteral(name)}, ${client.escapeLiteral(sha)}) ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, applied_at = now();`;
}

export function forgetChecksumStep(client: Client, name: string): string {
  return `DELETE FROM ${CHECKSUMS_TABLE} WHERE name = ${client.escapeLiteral(name)};`;
}
