// The built `dbopt audit` on a small purpose-built table: exit codes, refusals (exit 2),
// findings (exit 1) naming query, index and plan node, cost regression against a baseline,
// rolled-back writes, the statement-timeout cut, GitHub annotations and JUnit output.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withTestDatabase } from '../helpers/db.js';
import { runCli } from '../helpers/cli.js';
import { junitProblems } from '../fixtures/audit/junitShape.js';

const db = withTestDatabase('dbopt_e2e_audit');
const root = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-audit-'));

/** A directory of query files; returns its path. */
function queries(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return dir;
}

const LOOKUP =
  '-- name: item_by_code\n-- tier: hot\n-- params: [[17], [4242], [9001]]\n-- expect: index items_code_idx\nSELECT id, note\nFROM items\nWHERE code = $1;\n';
const COST = '-- name: item_cost\n-- tier: hot\n-- params: [[17]]\nSELECT id FROM items WHERE code = $1;\n';

function audit(args: string[], env: Record<string, string | undefined> = {}): ReturnType<typeof runCli> {
  return runCli(['audit', '--runs', '3', ...args], { cwd: root, env: { DATABASE_URL: db.get().url, ...env } });
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

afterAll(() => undefined);

describe('dbopt audit (built CLI)', () => {
  it('--update-baseline writes a sorted baseline; a change that raises cost exits 1 with before/after cost; a dropped expected index names query, index and plan node', async () => {
    const dir = queries('baseline', { 'item_by_code.sql': LOOKUP, 'item_cost.sql': COST });
    const baseline = path.join(root, 'baseline.json');
    const first = await audit(['--queries', dir, '--baseline', baseline, '--update-baseline']);
    expect(first.stderr).toContain('Baseline written');
    expect(first.code).toBe(0);
    const written = JSON.parse(readFileSync(baseline, 'utf8')) as {
      queries: Record<string, { cost: number }>;
      server: { major: number };
    };
    expect(Object.keys(written.queries)).toEqual(['item_by_code', 'item_cost']);
    expect(readFileSync(baseline, 'utf8')).toBe(JSON.stringify(written, null, 2) + '\n');

    await db.get().client.query('DROP INDEX items_code_idx');
    try {
      const r = await audit(['--queries', dir, '--baseline', baseline, '--format', 'json']);
      expect(r.code).toBe(1);
      const out = JSON.parse(r.stdout) as {
        checks: { id: string; status: string; message: string; file?: string; line?: number }[];
      };
      const cost = out.checks.find((c) => c.id === 'item_cost/cost-regression')!;
      expect(cost.status).toBe('fail');
      expect(cost.message).toMatch(
        new RegExp(`estimated cost ${written.queries.item_cost!.cost} -> [\\d,.]+ \\(\\+[\\d,]+ %, limit \\+25 %\\)`),
      );
      const idx = out.checks.find((c) => c.id === 'item_by_code/expected-index-missing')!;
      expect(idx.status).toBe('fail');
      expect(idx.message).toContain(
        'query "item_by_code" no longer uses index items_code_idx: the plan reads Seq Scan on items',
      );
      expect(idx.line).toBe(4);
      expect(idx.file).toBe(path.join('baseline', 'item_by_code.sql'));
      expect(out.checks.find((c) => c.id === 'item_cost/plan-changed')?.status).toBe('warn');
      const table = await audit(['--queries', dir, '--baseline', baseline]);
      expect(table.code).toBe(1);
      expect(table.stdout).toContain('Audit failed');
    } finally {
      await db.get().client.query('CREATE INDEX items_code_idx ON items (code)');
    }
  });

  it('refuses a DELETE without allow-writes (exit 2); with it, measures and rolls back', async () => {
    const refused = await audit([
      '--queries',
      queries('delete', { 'd.sql': '-- tier: hot\nDELETE FROM items WHERE code < 100;\n' }),
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('d.sql:2: the statement writes (DELETE) and the file has no "-- allow-writes"');
    expect(refused.stderr).toContain('sequences it advances');
    const before = (await db.get().client.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0]!.n;
    const allowed = await audit([
      '--queries',
      queries('delete-ok', { 'd.sql': '-- tier: warm\n-- allow-writes\nDELETE FROM items WHERE code < 100;\n' }),
      '--baseline',
      path.join(root, 'none.json'),
    ]);
    expect(allowed.stdout).toContain('Audit passed');
    expect(allowed.code).toBe(0);
    const after = (await db.get().client.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0]!.n;
    expect(after).toBe(before);
    expect(Number(after)).toBe(20000);
  });

  it('refuses transaction control, missing params, syntax errors and unknown annotations with exit 2 and file:line(:column)', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ 'c.sql': '-- tier: hot\nSELECT 1; COMMIT\n' }, 'c.sql:2: transaction control is not allowed (COMMIT)'],
      [
        { 'p.sql': '-- tier: hot\nSELECT id FROM items WHERE code = $1\n' },
        'p.sql:2: the statement uses $1..$1 but the file gives no "-- params:" or "-- params-from:"',
      ],
      [
        { 's.sql': '-- tier: hot\nSELECT id\n  FROM items WHERE code = = 1\n' },
        's.sql:3:27: SQL syntax error: syntax error at or near "="',
      ],
      [
        { 'u.sql': '-- name: u\n-- tier: hot\n-- budgett: 5ms\nSELECT 1\n' },
        'u.sql:3: unknown annotation "-- budgett:"',
      ],
      [
        { 'b.sql': '-- name: b\n-- budget: 10s\nSELECT 1\n' },
        'b.sql:2: budget 10000 ms (budget) is not below audit.statementTimeout (5000 ms)',
      ],
    ];
    for (const [files, message] of cases) {
      const r = await audit(['--queries', queries(`bad-${Object.keys(files)[0]}`, files)]);
      expect(r.code, message).toBe(2);
      expect(r.stderr).toContain(message);
    }
  });

  it('SELECT pg_sleep(10) with a 1 s budget is over budget (exit 1), cut by the statement_timeout', async () => {
    const r = await audit([
      '--queries',
      queries('sleep', { 'sleep.sql': '-- name: sleepy\n-- budget: 1s\nSELECT pg_sleep(10);\n' }),
      '--format',
      'json',
    ]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { checks: { id: string; status: string; message: string }[] };
    const over = out.checks.find((c) => c.id === 'sleepy/over-budget')!;
    expect(over.status).toBe('fail');
    // "> 4,000 ms": the statement_timeout (4x budget) ended each run, not the 10 s sleep.
    expect(over.message).toMatch(/^over budget: > 4,000 ms/);
  });

  it('under GITHUB_ACTIONS: well-formed, escaped annotations on stderr (never stdout) and a job summary', async () => {
    const odd = 'odd%\nname::x';
    const dir = queries('gha', { [`${odd}.sql`]: '-- budget: 1ms\nSELECT pg_sleep(0.02);\n' });
    const summary = path.join(root, 'summary.md');
    const r = await audit(['--queries', dir, '--format', 'json'], {
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
    });
    expect(r.code).toBe(1);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
    expect(r.stdout).not.toContain('::error');
    const commands = r.stderr.split('\n').filter((l) => l.startsWith('::'));
    expect(commands.length).toBeGreaterThan(0);
    for (const line of commands) expect(line).toMatch(/^::(error|warning|notice) [^\r\n]*::[^\r\n]*$/);
    const error = commands.find((l) => l.startsWith('::error'))!;
    expect(error).toContain('file=gha/odd%25%0Aname%3A%3Ax.sql,line=2,');
    expect(error).toContain('title=dbopt audit%3A odd%25%0Aname%3A%3Ax over-budget::');
    expect(existsSync(summary)).toBe(true);
    expect(readFileSync(summary, 'utf8')).toContain('**FAILED**');
  });

  it('--format junit validates against the JUnit shape, one testcase per query check', async () => {
    const dir = queries('junit', {
      'item_by_code.sql': LOOKUP,
      'slow.sql': '-- name: slow <&> "q"\n-- budget: 1ms\nSELECT pg_sleep(0.02);\n',
    });
    const file = path.join(root, 'junit.xml');
    const r = await audit(['--queries', dir, '--format', 'junit', '--output', file]);
    expect(r.code).toBe(1);
    const xml = readFileSync(file, 'utf8');
    expect(junitProblems(xml)).toEqual([]);
    expect(xml).toMatch(/<testsuite name="item_by_code" tests="\d+" failures="0"/);
    expect(xml).toContain('<testsuite name="slow &lt;&amp;&gt; &quot;q&quot;"');
    expect(xml).toMatch(
      /<testcase name="over-budget" classname="dbopt\.audit\.slow &lt;&amp;&gt; &quot;q&quot;" time="[\d.]+" file="junit\/slow\.sql" line="3"><failure message="over budget: p95/,
    );
  });
});

describe('behind a lock held by another session', () => {
  it('audit and report finish (exit 0) with an ACCESS EXCLUSIVE lock on an unrelated table, naming it', async () => {
    const c = db.get().client;
    await c.query(`CREATE TABLE IF NOT EXISTS locked_elsewhere (id int PRIMARY KEY, v text)`);
    const { default: pg } = await import('pg');
    const holder = new pg.Client({ connectionString: db.get().url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE locked_elsewhere IN ACCESS EXCLUSIVE MODE');
      const a = await audit([
        '--queries',
        queries('locked', { 'item_by_code.sql': LOOKUP }),
        '--baseline',
        path.join(root, 'none.json'),
      ]);
      expect(a.code).toBe(0);
      expect(a.stdout).toContain('not judged: size and definition of public.locked_elsewhere');
      const r = await runCli(['report'], { cwd: root, env: { DATABASE_URL: db.get().url } });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('not judged: size and definition of public.locked_elsewhere');
    } finally {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await c.query('DROP TABLE IF EXISTS locked_elsewhere');
    }
  });
});

describe('dbopt report (built CLI)', () => {
  it('prints health figures and exits 0', async () => {
    const r = await runCli(['report', '--format', 'json'], { cwd: root, env: { DATABASE_URL: db.get().url } });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      result: { indexes: { index: string }[]; statements: { available: boolean; reason?: string } };
    };
    expect(out.result.indexes.map((i) => i.index)).toContain('items_code_idx');
    if (!out.result.statements.available) expect(out.result.statements.reason).toContain('pg_stat_statements');
  });
});
