// The built `dbopt audit --load`: exit 1 with load-over-budget when the budget is below what
// was measured and 0 when above, exit 2 naming both numbers when --connections exceeds the
// allowed share, every load figure in --format json, a table that fits 100 columns, and the
// partial figures of a run stopped by SIGTERM (exit 143).
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withTestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';

const db = withTestDatabase('dbopt_e2e_load');
const root = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-load-'));

function queries(name: string, budget: string): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'item_by_code.sql'),
    `-- name: item_by_code\n-- budget: ${budget}\n-- weight: 3\n-- params: [[17], [4242], [9001]]\nSELECT id, note\nFROM items\nWHERE code = $1;\n`,
  );
  writeFileSync(
    path.join(dir, 'item_touch.sql'),
    `-- name: item_touch\n-- budget: ${budget}\n-- allow-writes\nUPDATE items SET note = note WHERE code = 1;\n`,
  );
  return dir;
}

const SHORT = ['--duration', '1s', '--runs', '3'];

function audit(args: string[], env: Record<string, string | undefined> = {}): ReturnType<typeof runCli> {
  return runCli(['audit', '--baseline', path.join(root, 'none.json'), ...args], {
    cwd: root,
    env: { DATABASE_URL: db.get().url, DBOPT_AUDIT_LOAD_WARMUP: '200ms', ...env },
  });
}

interface Json {
  ok: boolean;
  checks: { id: string; code: string; status: string; message: string }[];
  result: {
    load: {
      model: string;
      concurrency: number;
      connections: number;
      partial: boolean;
      requests: number;
      throughput: number;
      latency: { p95: number };
      poolWait: { p95: number };
      queries: {
        name: string;
        requests: number;
        errors: number;
        latency: { p50: number; p95: number; p99: number; max: number };
        poolWait: { p95: number };
        connection: { p95: number };
      }[];
      server: { waitEvents: unknown[]; connections: { max: number; maxUsed: number }; cache: unknown };
      client: { cpuShare: number; eventLoopDelayP99Ms: number; bound: boolean };
      budget: { free: number; allowed: number };
    };
    loadLeft: { name: string; reason: string }[];
  };
}

beforeAll(async () => {
  const c = db.get().client;
  await c.query(
    `CREATE TABLE items (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, code int NOT NULL, note text NOT NULL)`,
  );
  await c.query(`INSERT INTO items (code, note) SELECT i, 'note ' || i FROM generate_series(1, 20000) AS i`);
  await c.query(`CREATE INDEX items_code_idx ON items (code)`);
  await c.query(`VACUUM ANALYZE items`);
});

describe('dbopt audit --load (built CLI)', () => {
  let measured: Json;

  it('runs 1000 in flight over 16 connections and carries every figure in --format json; a generous budget exits 0', async () => {
    const r = await audit([
      '--queries',
      queries('generous', '4s'),
      '--load',
      '--concurrency',
      '1000',
      '--connections',
      '16',
      ...SHORT,
      '--format',
      'json',
    ]);
    expect(r.stderr).not.toMatch(/Error/);
    measured = JSON.parse(r.stdout) as Json;
    const load = measured.result.load;
    expect(load.model).toBe('closed');
    expect(load.concurrency).toBe(1000);
    expect(load.connections).toBe(16);
    expect(load.partial).toBe(false);
    expect(load.requests).toBeGreaterThan(0);
    expect(load.throughput).toBeGreaterThan(0);
    const q = load.queries.find((x) => x.name === 'item_by_code')!;
    expect(q.requests).toBeGreaterThan(0);
    expect(q.errors).toBe(0);
    for (const k of ['p50', 'p95', 'p99', 'max'] as const) expect(q.latency[k]).toBeGreaterThan(0);
    expect(typeof q.poolWait.p95).toBe('number');
    expect(typeof q.connection.p95).toBe('number');
    expect(load.server.connections.max).toBeGreaterThan(0);
    expect(Array.isArray(load.server.waitEvents)).toBe(true);
    expect(typeof load.client.cpuShare).toBe('number');
    expect(load.budget.allowed).toBeLessThanOrEqual(load.budget.free);
    // The allow-writes query is left out of the load (not named).
    expect(load.queries.map((x) => x.name)).toEqual(['item_by_code']);
    expect(measured.result.loadLeft.map((l) => l.name)).toEqual(['item_touch']);
    const over = measured.checks.find((c) => c.id === 'item_by_code/load-over-budget')!;
    expect(over.status).toBe('pass');
    expect(r.code).toBe(0);
  });

  it('exits 1 with load-over-budget when the budget is below the measured p95', async () => {
    // 1000 requests in flight over 2 connections queue for far longer than 1 microsecond... and
    // 1ms is the smallest budget a file can declare; the p95 of a queue of 1000 exceeds it.
    const r = await audit([
      '--queries',
      queries('tight', '1ms'),
      '--load',
      '--concurrency',
      '1000',
      '--connections',
      '2',
      ...SHORT,
      '--format',
      'json',
    ]);
    const out = JSON.parse(r.stdout) as Json;
    const q = out.result.load.queries[0]!;
    expect(q.latency.p95).toBeGreaterThan(1);
    const over = out.checks.find((c) => c.id === 'item_by_code/load-over-budget')!;
    expect(over.status).toBe('fail');
    expect(over.message).toMatch(/at 1000 in flight over 2 connections is above the budget budget 1.00 ms/);
    expect(r.code).toBe(1);
  });

  it('refuses --connections above the allowed share with exit 2, naming both numbers, before opening any', async () => {
    const r = await audit(['--queries', queries('share', '4s'), '--load', '--connections', '5000', ...SHORT]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /--connections 5000 is more than the \d+ allowed: 50 % of the server's \d+ free connections/,
    );
    const { rows } = await db
      .get()
      .client.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'dbopt-load'`);
    expect(rows[0].n).toBe(0);
  });

  it('prints a table that fits 100 columns', async () => {
    const r = await audit(
      ['--queries', queries('table', '4s'), '--load', '--concurrency', '50', '--connections', '4', ...SHORT],
      { COLUMNS: '100' },
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Under load \(50 in flight, 4 connections\)/);
    const table = r.stdout.split('\n');
    const start = table.findIndex((l) => l.includes('Under load'));
    const end = table.findIndex((l, i) => i > start && l.trim() === '');
    for (const line of table.slice(start, end)) expect(line.length, line).toBeLessThanOrEqual(100);
  });

  it('ends cleanly on SIGTERM with the partial figures marked partial (exit 143)', async () => {
    const r = await runCli(
      [
        'audit',
        '--baseline',
        path.join(root, 'none.json'),
        '--queries',
        queries('stop', '4s'),
        '--load',
        '--duration',
        '60s',
        '--runs',
        '3',
        '--format',
        'json',
      ],
      {
        cwd: root,
        env: { DATABASE_URL: db.get().url, DBOPT_AUDIT_LOAD_WARMUP: '200ms' },
        onSpawn: (child) => {
          // Stop once the load phase reports progress on stderr.
          // Once: a second signal means "stop now" and skips the partial report.
          let sent = false;
          child.stderr!.on('data', (d: Buffer) => {
            if (!sent && /load: load/.test(d.toString())) {
              sent = true;
              child.kill('SIGTERM');
            }
          });
        },
      },
    );
    expect(r.code).toBe(143);
    const out = JSON.parse(r.stdout) as Json;
    expect(out.result.load.partial).toBe(true);
    expect(out.result.load.requests).toBeGreaterThan(0);
  });
});
