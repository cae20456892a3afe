// audit.load in the config: defaults, flags over environment over file, every problem named,
// and -- weight: in query files.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { parseQueryFile } from '../../src/audit/queryFile.js';

const resolve = (raw: unknown, env: NodeJS.ProcessEnv = {}, overrides: Record<string, unknown> = {}) =>
  resolveConfig(raw, { rootDir: '/', env, overrides, overrideSources: { 'audit.load.connections': '--connections' } });

describe('audit.load config', () => {
  it('has the documented defaults', () => {
    expect(resolve({}).audit.load).toEqual({
      concurrency: 1000,
      connections: 16,
      rate: null,
      arrivals: 'poisson',
      durationMs: 10_000,
      warmupMs: 2000,
      maxConnectionShare: 0.5,
    });
  });
  it('layers flags over environment over file', () => {
    const file = { audit: { load: { concurrency: 200, rate: 500, duration: '3s' } } };
    const c = resolve(
      file,
      { DBOPT_AUDIT_LOAD_CONCURRENCY: '300', DBOPT_AUDIT_LOAD_RATE: 'null' },
      { 'audit.load.duration': '1s' },
    );
    expect(c.audit.load.concurrency).toBe(300);
    expect(c.audit.load.rate).toBeNull();
    expect(c.audit.load.durationMs).toBe(1000);
    expect(resolve({ audit: { load: { arrivals: 'uniform' } } }).audit.load.arrivals).toBe('uniform');
    expect(resolve({}, { DBOPT_AUDIT_LOAD_ARRIVALS: 'uniform' }).audit.load.arrivals).toBe('uniform');
  });
  it('reports every problem with its key path', () => {
    let err: unknown;
    try {
      resolve(
        { audit: { load: { concurrency: 0, rate: 'fast', arrivals: 'bursty', maxConnectionShare: 2, pool: 3 } } },
        {},
        { 'audit.load.connections': 1.5 },
      );
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const details = (err as ConfigError).details.join('\n');
    expect(details).toMatch(/audit\.load\.pool: unknown key/);
    expect(details).toMatch(/audit\.load\.concurrency: must be between 1/);
    expect(details).toMatch(/audit\.load\.rate: must be a number or null/);
    expect(details).toMatch(/audit\.load\.arrivals: must be one of "poisson", "uniform", got "bursty"/);
    expect(details).toMatch(/audit\.load\.maxConnectionShare: must be between 0 and 1/);
    expect(details).toMatch(/--connections: must be an integer/);
  });
});

describe('-- weight:', () => {
  const opts = { tiers: { hot: 50 } };
  it('defaults to 1 and reads a number', async () => {
    expect((await parseQueryFile('-- name: a\n-- tier: hot\nSELECT 1;\n', 'a.sql', opts)).weight).toBe(1);
    expect((await parseQueryFile('-- name: a\n-- tier: hot\n-- weight: 20\nSELECT 1;\n', 'a.sql', opts)).weight).toBe(
      20,
    );
  });
  it('refuses a weight that is not a number, naming file and line', async () => {
    await expect(
      parseQueryFile('-- name: a\n-- tier: hot\n-- weight: lots\nSELECT 1;\n', 'a.sql', opts),
    ).rejects.toThrow(/a\.sql:3: weight "lots" must be a number/);
  });
});
