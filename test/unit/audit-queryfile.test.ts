// Query files: annotations, params, expectations, and every refusal with file:line(:column).
import { describe, expect, it } from 'vitest';
import { parseQueryFile } from '../../src/audit/queryFile.js';
import { UsageError } from '../../src/errors.js';
import { rejection } from '../helpers/errors.js';

const tiers = { hot: 50, warm: 80, cold: 100 };
const parse = (text: string): ReturnType<typeof parseQueryFile> => parseQueryFile(text, 'queries/q.sql', { tiers });

const refusal = (text: string): Promise<UsageError> => rejection(parse(text), UsageError);

describe('parseQueryFile', () => {
  it('reads every annotation', async () => {
    const q = await parse(
      [
        '-- A prose comment is fine.',
        '-- name: user_by_telegram_id',
        '-- tier: hot',
        '-- params: [[1, 100], [2, 200]]',
        '-- expect: index users_bot_telegram_cover, index-only, no-seq-scan',
        '-- runs: 7',
        'SELECT id FROM users WHERE bot_id = $1 AND telegram_id = $2;',
      ].join('\n'),
    );
    expect(q.name).toBe('user_by_telegram_id');
    expect(q.budgetMs).toBe(50);
    expect(q.params).toEqual([
      ['1', '100'],
      ['2', '200'],
    ]);
    expect(q.expect).toEqual([
      { kind: 'index', index: 'users_bot_telegram_cover' },
      { kind: 'index-only' },
      { kind: 'no-seq-scan' },
    ]);
    expect(q.runs).toBe(7);
    expect(q.line).toBe(7);
    expect(q.text).toBe('SELECT id FROM users WHERE bot_id = $1 AND telegram_id = $2');
    expect(q.placeholders).toBe(2);
    expect(q.writes).toBe(false);
  });

  it('budget wins over tier; cold tier; params-from; JSON objects become jsonb text', async () => {
    const q = await parse(
      '-- tier: cold\n-- budget: 2s\n-- params: [{"lang": "ru"}]\nSELECT 1 FROM users WHERE profile @> $1::jsonb',
    );
    expect(q.budgetMs).toBe(2000);
    expect(q.cold).toBe(true);
    expect(q.params).toEqual([['{"lang":"ru"}']]);
    expect(q.name).toBe('q');
    const p = await parse(
      '-- tier: hot\n-- params-from: SELECT id FROM users ORDER BY id LIMIT 5;\nSELECT * FROM users WHERE id = $1',
    );
    expect(p.paramsFrom?.text).toBe('SELECT id FROM users ORDER BY id LIMIT 5');
    expect(p.paramsFrom?.line).toBe(2);
  });

  it('refuses a budget at or above audit.statementTimeout (it could never pass), naming the line and the key', async () => {
    const opts = { tiers: { ...tiers, slow: 9000 }, statementTimeoutMs: 5000 };
    await expect(parseQueryFile('-- name: x\n-- budget: 5s\nSELECT 1', 'queries/q.sql', opts)).rejects.toThrow(
      'queries/q.sql:2: budget 5000 ms (budget) is not below audit.statementTimeout (5000 ms): the statement is cancelled before it could pass',
    );
    const tier = parseQueryFile('-- name: x\n-- tier: slow\nSELECT 1', 'queries/q.sql', opts);
    await expect(tier).rejects.toBeInstanceOf(UsageError);
    await expect(tier).rejects.toThrow(
      /^queries\/q\.sql:2: budget 9000 ms \(tier slow\) is not below audit\.statementTimeout/,
    );
    expect((await parseQueryFile('-- budget: 4999ms\nSELECT 1', 'queries/q.sql', opts)).budgetMs).toBe(4999);
  });

  it('refuses an unknown annotation with its line', async () => {
    const e = await refusal('-- name: x\n-- teir: hot\nSELECT 1');
    expect(e.message).toBe('queries/q.sql:2: unknown annotation "-- teir:"');
  });

  it('refuses missing params for $n placeholders', async () => {
    const e = await refusal('-- tier: hot\n\nSELECT * FROM users\nWHERE id = $1');
    expect(e.message).toMatch(/^queries\/q\.sql:3: the statement uses \$1\.\.\$1 but the file gives no/);
    const short = await refusal('-- tier: hot\n-- params: [1]\nSELECT * FROM t WHERE a = $1 AND b = $2');
    expect(short.message).toContain('queries/q.sql:2: params give 1 value but the statement uses $2');
  });

  it('points a syntax error at file:line:column', async () => {
    const e = await refusal('-- tier: hot\nSELECT id\nFROM users\nWHERE id = = 1');
    expect(e.message).toMatch(/^queries\/q\.sql:4:12: SQL syntax error/);
  });

  it('refuses transaction control and multi-statement text', async () => {
    expect((await refusal('-- tier: hot\nSELECT 1; COMMIT')).message).toContain('transaction control is not allowed');
    expect((await refusal('-- tier: hot\nSELECT 1;\nSELECT 2;')).message).toContain(
      'queries/q.sql:3: more than one statement',
    );
  });

  it('refuses DML without allow-writes, accepts it with', async () => {
    expect((await refusal('-- tier: hot\nDELETE FROM t WHERE id = 1')).message).toContain(
      'the statement writes (DELETE)',
    );
    expect((await refusal('-- tier: hot\nWITH d AS (DELETE FROM t RETURNING id) SELECT * FROM d')).message).toContain(
      'data-modifying WITH',
    );
    expect((await refusal('-- tier: hot\nSELECT * INTO t2 FROM t')).message).toContain('SELECT INTO');
    const q = await parse('-- tier: hot\n-- allow-writes\nDELETE FROM t WHERE id = 1');
    expect(q.writes && q.allowWrites).toBe(true);
  });

  it('refuses DDL, unknown tiers, bad budgets, bad params and unknown expect facts', async () => {
    expect((await refusal('-- tier: hot\nCREATE TABLE x (a int)')).message).toContain(
      'Create statements cannot be audited',
    );
    expect((await refusal('-- tier: lukewarm\nSELECT 1')).message).toContain('unknown tier "lukewarm"');
    expect((await refusal('-- budget: fast\nSELECT 1')).message).toContain('is not a duration');
    expect((await refusal('SELECT 1')).message).toContain('no "-- tier:" or "-- budget:"');
    expect((await refusal('-- tier: hot\n-- params: [1,\nSELECT $1')).message).toContain(
      'queries/q.sql:2: params are not valid JSON',
    );
    expect((await refusal('-- tier: hot\n-- expect: index-ish\nSELECT 1')).message).toContain(
      'unknown expect fact "index-ish"',
    );
  });
});
