// The client node-pg-migrate's runner is given answers the runner's questions about its own
// table from what the run already read; run against the real runner, so a node-pg-migrate that
// words them otherwise fails here rather than quietly costing round trips again.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from 'pg';
import { runner } from 'node-pg-migrate';
import { runnerClient } from '../../src/migrate/runnerClient.js';

function serverThatRecords(): { client: Client; sent: string[] } {
  const sent: string[] = [];
  const query = (text: string): Promise<unknown> => {
    sent.push(text);
    return Promise.resolve({ rows: [], rowCount: 0 });
  };
  return { client: { query } as unknown as Client, sent };
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined, debug: () => undefined };

async function pass(client: Client, dir: string): Promise<string[]> {
  const ran = await runner({
    dbClient: client,
    dir,
    direction: 'up',
    migrationsSchema: 'dbopt',
    migrationsTable: 'migrations',
    createMigrationsSchema: false,
    noLock: true,
    checkOrder: true,
    logger: quiet,
  });
  return ran.map((m) => m.name);
}

describe('runnerClient', () => {
  it("answers the runner's table questions of a ready table without the server", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-runner-client-'));
    writeFileSync(path.join(dir, '0001_a.sql'), '-- Up Migration\nSELECT 1;\n');
    const server = serverThatRecords();
    expect(await pass(runnerClient(server.client, { ready: true, applied: ['0001_a'] }), dir)).toEqual([]);
    expect(server.sent).toEqual([]);
  });

  it('asks the server whether the table exists when the run did not find it ready', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-runner-client-'));
    const server = serverThatRecords();
    await pass(runnerClient(server.client, { ready: false, applied: [] }), dir);
    expect(server.sent.some((q) => q.includes('information_schema.tables'))).toBe(true);
    expect(server.sent.some((q) => q.startsWith('CREATE TABLE "dbopt"."migrations"'))).toBe(true);
    expect(server.sent.some((q) => q.startsWith('SELECT name FROM'))).toBe(false);
  });
});

describe('runnerClient record', () => {
  it("sends a migration's deferred bookkeeping in the round trip of the runner's record of it", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'dbopt-runner-client-'));
    writeFileSync(
      path.join(dir, '0001_a.js'),
      'exports.up = (pgm) => { pgm.noTransaction(); pgm.sql("SELECT 1"); };\n',
    );
    const server = serverThatRecords();
    const session = { deferred: { name: '0001_a', sql: 'INSERT INTO checksums VALUES (1);' } };
    const client = runnerClient(server.client, { ready: true, applied: [] }, session);
    expect(await pass(client, dir)).toEqual(['0001_a']);
    expect(server.sent).toEqual([
      'SELECT 1;',
      `INSERT INTO checksums VALUES (1); INSERT INTO "dbopt"."migrations" (name, run_on) VALUES ('0001_a', NOW());`,
    ]);
    expect(session.deferred).toBeUndefined();
  });
});
