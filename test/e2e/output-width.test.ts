// Output people can read, through the built CLI: every command's table output fits
// COLUMNS=80 and COLUMNS=120 (the reference workload, and a pagila-like schema with long
// names), and the same duplicate index on every partition of a partitioned table prints as one
// block naming the partitions, while --verbose, JSON and JUnit keep one entry per object.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../helpers/cli.js';
import { withTestDatabase } from '../helpers/db.js';
import { withWorkloadDatabase } from '../helpers/workload.js';
import { PARTITIONS, createPagilaLike, writePagilaFiles } from '../fixtures/output/pagila.js';

const workload = withWorkloadDatabase();
const pagila = withTestDatabase('dbopt_e2e_pagila');
const root = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-pagila-'));
const files = writePagilaFiles(root);

beforeAll(async () => {
  await createPagilaLike(pagila.get().client);
});

const WORKLOAD_COMMANDS = [
  ['audit', '--runs', '3'],
  ['report'],
  ['refresh-views', '--status'],
  ['refresh-views', '--dry-run', '--all'],
  ['migrate', 'status'],
  ['migrate', '--dry-run'],
  ['migrate', 'lint'],
  ['seed'],
];
const PAGILA_COMMANDS = [
  ['audit', '--runs', '3', '--queries', files.queries, '--baseline', files.baseline],
  ['report'],
  ['refresh-views', '--dry-run', '--all'],
  ['refresh-views', '--all'],
  ['refresh-views', '--status'],
  ['migrate', 'lint', '--dir', files.migrations],
  ['migrate', '--dry-run', '--no-lint', '--dir', files.migrations],
  ['migrate', 'status', '--dir', files.migrations],
];

const OUT = path.join(REPO_ROOT, 'test-output');
mkdirSync(OUT, { recursive: true });

/** Keep what was printed in test-output/ for a person to look at. */
function keep(name: string, args: string[], width: number, stdout: string): void {
  writeFileSync(
    path.join(OUT, `width-${name}-${width}-${args.filter((a) => /^[a-z-]+$/.test(a)).join('_')}.txt`),
    stdout,
  );
}

function tooLong(stdout: string, width: number): string[] {
  return stdout.split('\n').filter((l) => [...l].length > width);
}

describe('table output fits the terminal', () => {
  for (const width of [80, 120]) {
    it(`every command at COLUMNS=${width}: the reference workload`, async () => {
      for (const args of WORKLOAD_COMMANDS) {
        const r = await runCli(args, {
          cwd: REPO_ROOT,
          env: { DATABASE_URL: workload.get().url, COLUMNS: String(width) },
        });
        keep('workload', args, width, r.stdout);
        expect(r.stderr, args.join(' ')).not.toMatch(/^error:/m);
        expect(r.stdout.length, args.join(' ')).toBeGreaterThan(0);
        expect(tooLong(r.stdout, width), `dbopt ${args.join(' ')}`).toEqual([]);
      }
    });

    it(`every command at COLUMNS=${width}: long names`, async () => {
      for (const args of PAGILA_COMMANDS) {
        const r = await runCli(args, { cwd: root, env: { DATABASE_URL: pagila.get().url, COLUMNS: String(width) } });
        keep('pagila', args, width, r.stdout);
        expect(r.stderr, args.join(' ')).not.toMatch(/^error:/m);
        expect(r.stdout.length, args.join(' ')).toBeGreaterThan(0);
        expect(tooLong(r.stdout, width), `dbopt ${args.join(' ')}`).toEqual([]);
      }
    });
  }

  it('a table too wide says which columns it left out', async () => {
    const r = await runCli(['audit', '--runs', '3'], {
      cwd: REPO_ROOT,
      env: { DATABASE_URL: workload.get().url, COLUMNS: '80' },
    });
    expect(r.stdout).toMatch(/\(buffers hit\/read(, [a-z0-9/ ]+)* not shown to fit 80\s+columns/);
  });
});

describe('findings alike across partitions', () => {
  const audit = (extra: string[], width = 120): ReturnType<typeof runCli> =>
    runCli(['audit', '--runs', '3', '--queries', files.queries, '--baseline', files.baseline, ...extra], {
      cwd: root,
      env: { DATABASE_URL: pagila.get().url, COLUMNS: String(width) },
    });

  it('print one block per rule and parent, naming the partitions', async () => {
    const r = await audit([]);
    const blocks = r.stdout.match(/^warning\[duplicate-index\].*$/gm) ?? [];
    expect(blocks.filter((b) => b.includes('payment (6 partitions)'))).toHaveLength(1);
    const block = r.stdout.slice(r.stdout.indexOf('warning[duplicate-index] payment (6 partitions)'));
    const members = block.slice(block.indexOf('= partitions:'), block.indexOf('  = the same'));
    for (const p of PARTITIONS) expect(members).toContain(p);
    // The long-named table's own duplicate is its own block.
    expect(blocks.filter((b) => !b.includes('payment (6 partitions)'))).toHaveLength(1);
  });

  it('--verbose prints each; JSON and JUnit keep one entry per object', async () => {
    const verbose = await audit(['--verbose']);
    expect(verbose.stdout.match(/^warning\[duplicate-index\] payment_p2022_0\d_customer_id_idx:/gm)).toHaveLength(6);
    const json = JSON.parse((await audit(['--format', 'json'])).stdout) as {
      checks: { code: string; status: string; subject: string }[];
    };
    const dups = json.checks.filter((c) => c.code === 'duplicate-index' && c.status === 'warn');
    expect(dups.map((c) => c.subject).sort()).toEqual(
      [
        ...PARTITIONS.map((p) => `${p}_customer_id_idx`),
        'customer_rental_history_customer_identifier_referencing_idx',
      ].sort(),
    );
    const junit = (await audit(['--format', 'junit'])).stdout;
    for (const p of PARTITIONS) expect(junit).toContain(`<testsuite name="${p}_customer_id_idx"`);
  });
});

describe('dbopt report --watch', () => {
  it('redraws the report until stopped, then exits 0; each frame fits the width', async () => {
    let frames = 0;
    const r = await runCli(['report', '--watch', '--interval', '1s'], {
      cwd: REPO_ROOT,
      env: { DATABASE_URL: workload.get().url, COLUMNS: '80' },
      onSpawn: (child) => {
        child.stdout!.on('data', (d: Buffer) => {
          frames += (d.toString().match(/^every 1s · /gm) ?? []).length;
          if (frames >= 2) child.kill('SIGTERM');
        });
      },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.match(/^dbopt report \(PostgreSQL/gm)!.length).toBeGreaterThanOrEqual(2);
    expect(tooLong(r.stdout, 80)).toEqual([]);
  });

  it('refuses an interval that is not a duration (exit 2)', async () => {
    const r = await runCli(['report', '--watch', '--interval', 'often'], {
      cwd: REPO_ROOT,
      env: { DATABASE_URL: workload.get().url },
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--interval');
  });
});
