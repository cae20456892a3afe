import { describe, expect, it } from 'vitest';
import { readFileSync, mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONFIG_SPEC, configJsonSchema, envVarName, loadConfig, resolveConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { FLAG_NAMES } from '../../src/cli/context.js';
import { thrownBy } from '../helpers/errors.js';

const ctx = (raw: unknown, env: NodeJS.ProcessEnv = {}, overrides: Record<string, unknown> = {}) =>
  resolveConfig(raw, { file: '/x/dbopt.config.json', rootDir: '/x', env, overrides, overrideSources: FLAG_NAMES });

const problems = (fn: () => unknown): string[] => thrownBy(fn, ConfigError).details;

describe('config', () => {
  it('applies defaults when the file is empty', () => {
    const c = ctx({});
    expect(c.migrate.dir).toBe('migrations');
    expect(c.migrate.lockTimeoutMs).toBe(2000);
    expect(c.audit.tiers).toEqual({ hot: 50, warm: 80, cold: 100 });
    expect(c.refresh.defaultSchedule).toBe('1h');
    expect(c.audit.minCacheHitRatio).toBe(0.9);
  });

  it('accepts the example of PRODUCT.md', () => {
    const c = ctx({
      database: { url: 'postgres://app@db.internal:5432/app' },
      migrate: { dir: 'migrations', lockTimeout: '2s', lockRetries: 10, lockWait: '30s' },
      refresh: {
        include: ['analytics.*'],
        exclude: [],
        concurrency: 2,
        defaultSchedule: '1h',
        schedules: { 'analytics.daily_bot_activity': '1h' },
      },
      audit: {
        queries: 'queries',
        baseline: 'queries/baseline.json',
        tiers: { hot: '50ms', warm: '80ms', cold: '100ms' },
        runs: 30,
        warmup: 5,
        costRegression: 0.25,
        seqScanRows: 10000,
        minCacheHitRatio: 0.9,
        statementTimeout: '5s',
      },
      seed: { dir: 'seeds' },
    });
    expect(c.refresh.schedules).toEqual({ 'analytics.daily_bot_activity': '1h' });
    expect(c.audit.statementTimeoutMs).toBe(5000);
  });

  it('reports every problem at once with its key path', () => {
    const p = problems(() => ctx({ migrate: { lockTimeout: 'soon', dirr: 'x' }, audit: { runs: -1 }, bogus: 1 }));
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringContaining('migrate.lockTimeout'),
        expect.stringContaining('migrate.dirr: unknown key'),
        expect.stringContaining('audit.runs'),
        expect.stringContaining('bogus: unknown key'),
      ]),
    );
    expect(p).toHaveLength(4);
  });

  it('validates schedules: interval or cron, never negative', () => {
    const p = problems(() =>
      ctx({ refresh: { schedules: { 'a.b': '-5m', 'a.c': '61 * * * *', 'a.d': '*/15 * * * *' } } }),
    );
    expect(p).toHaveLength(2);
    expect(p[0]).toContain('refresh.schedules.a.b');
    expect(p[1]).toContain('refresh.schedules.a.c');
  });

  it('layers flags over environment over file', () => {
    const env = { DBOPT_AUDIT_RUNS: '7', DBOPT_MIGRATE_DIR: 'env-migrations' };
    expect(ctx({ audit: { runs: 3 } }, env).audit.runs).toBe(7);
    expect(ctx({ audit: { runs: 3 } }, env, { 'audit.runs': 9 }).audit.runs).toBe(9);
    expect(ctx({}, env).migrate.dir).toBe('env-migrations');
    expect(envVarName('migrate', 'lockTimeout')).toBe('DBOPT_MIGRATE_LOCK_TIMEOUT');
  });

  it('names the flag when a flag value is wrong', () => {
    const p = problems(() => ctx({}, {}, { 'audit.runs': 0 }));
    expect(p[0]).toContain('--runs');
  });

  it('finds dbopt.config.yaml upward from the working directory', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'dbopt-cfg-'));
    writeFileSync(path.join(root, 'dbopt.config.yaml'), 'audit:\n  runs: 12\n');
    const deep = path.join(root, 'a', 'b');
    mkdirSync(deep, { recursive: true });
    const c = await loadConfig({ cwd: deep, env: {} });
    expect(c.audit.runs).toBe(12);
    expect(c.rootDir).toBe(root);
  });

  it('points at the line of a JSON syntax error', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'dbopt-cfg-'));
    writeFileSync(path.join(root, 'dbopt.config.json'), '{\n  "audit": {\n    "runs": 3,\n  }\n}\n');
    await expect(loadConfig({ cwd: root, env: {} })).rejects.toThrow(/not valid JSON at line 4/);
  });

  it('keeps the shipped JSON Schema in step with the validator', () => {
    const shipped = JSON.parse(readFileSync(path.resolve(__dirname, '../../schema/dbopt.config.schema.json'), 'utf8'));
    expect(shipped).toEqual(configJsonSchema());
    // Every key the validator knows is in the schema, and nothing else.
    for (const [section, spec] of Object.entries(CONFIG_SPEC)) {
      expect(Object.keys(shipped.properties[section].properties).sort()).toEqual(Object.keys(spec.properties).sort());
    }
  });
});
