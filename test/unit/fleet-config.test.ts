// Fleet configuration: directUrl, pooler, replicas, fleet.maxReplicaLag; which connection
// session work uses; which nodes --node selects.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { targetFromUrl } from '../../src/db/connection.js';
import { selectNodes, sessionTarget } from '../../src/db/fleet.js';
import { ConfigError, UsageError } from '../../src/errors.js';

const resolve = (raw: unknown): ReturnType<typeof resolveConfig> =>
  resolveConfig(raw, { rootDir: '/x', env: {}, overrides: {} });
const pooled = targetFromUrl('postgres://app@pgbouncer:6432/app', 'config database.url', {});

describe('fleet configuration', () => {
  it('reads the PRODUCT.md example', () => {
    const c = resolve({
      database: {
        url: 'postgres://app@pgbouncer:6432/app',
        directUrl: 'postgres://app@primary:5432/app',
        pooler: 'transaction',
        replicas: [{ name: 'replica-1', url: 'postgres://app@replica-1:5432/app' }],
      },
      fleet: { maxReplicaLag: '30s' },
    });
    expect(c.database).toMatchObject({
      url: 'postgres://app@pgbouncer:6432/app',
      directUrl: 'postgres://app@primary:5432/app',
      pooler: 'transaction',
      replicas: [{ name: 'replica-1', url: 'postgres://app@replica-1:5432/app' }],
    });
    expect(c.fleet.maxReplicaLagMs).toBe(30_000);
    expect(resolve({}).database).toMatchObject({ url: undefined, directUrl: undefined, pooler: 'none', replicas: [] });
  });

  it('reports every bad key at once', () => {
    try {
      resolve({
        database: {
          pooler: 'statement',
          replicas: [
            { name: 'all', url: 'postgres://x' },
            { name: 'r', url: 'postgres://y', port: 1 },
            { url: 'postgres://z' },
          ],
        },
        fleet: { maxReplicaLag: 'soon' },
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const details = (err as ConfigError).details.join('\n');
      expect(details).toContain('database.pooler: must be one of "none", "session", "transaction", got "statement"');
      expect(details).toContain('database.replicas[0].name: "all" is reserved by --node');
      expect(details).toContain('database.replicas[1]: unknown key port');
      expect(details).toContain('database.replicas[2]: must be { "name"');
      expect(details).toContain('fleet.maxReplicaLag: must be a duration');
    }
  });
});

describe('sessionTarget', () => {
  const database = (extra: Record<string, unknown> = {}): ReturnType<typeof resolveConfig>['database'] => ({
    pooler: 'none',
    replicas: [],
    unresponsiveAfterMs: 60_000,
    ...extra,
  });

  it('prefers --direct-url, then DATABASE_DIRECT_URL, then database.directUrl, then url', () => {
    const d = database({ directUrl: 'postgres://app@cfg:5432/app' });
    expect(
      sessionTarget('migrate', {
        url: pooled,
        flagDirectUrl: 'postgres://app@flag:5432/app',
        database: d,
        env: { DATABASE_DIRECT_URL: 'postgres://app@env:5432/app' },
      }).source,
    ).toBe('--direct-url');
    expect(
      sessionTarget('migrate', {
        url: pooled,
        database: d,
        env: { DATABASE_DIRECT_URL: 'postgres://app@env:5432/app' },
      }).display,
    ).toBe('app@env:5432/app');
    expect(sessionTarget('migrate', { url: pooled, database: d, env: {} }).display).toBe('app@cfg:5432/app');
    expect(sessionTarget('migrate', { url: pooled, database: database(), env: {} })).toBe(pooled);
  });

  it('refuses session work through a transaction-mode pooler without a direct URL, naming directUrl', () => {
    expect(() =>
      sessionTarget('migrate', { url: pooled, database: database({ pooler: 'transaction' }), env: {} }),
    ).toThrow(UsageError);
    try {
      sessionTarget('refresh-views', { url: pooled, database: database({ pooler: 'transaction' }), env: {} });
    } catch (err) {
      expect((err as UsageError).exitCode).toBe(2);
      expect((err as UsageError).message).toContain('refresh-views needs a session, and app@pgbouncer:6432/app');
      expect((err as UsageError).hint).toContain('database.directUrl');
    }
  });
});

describe('selectNodes', () => {
  const database = {
    pooler: 'none' as const,
    unresponsiveAfterMs: 60_000,
    replicas: [{ name: 'replica-1', url: 'postgres://app@r1:5432/app' }],
  };
  it('primary by default, a replica by name, all of them, or a usage error', () => {
    expect(selectNodes(undefined, pooled, database, {}).map((n) => n.name)).toEqual(['primary']);
    expect(selectNodes('replica-1', pooled, database, {}).map((n) => n.target.display)).toEqual(['app@r1:5432/app']);
    expect(selectNodes('all', pooled, database, {}).map((n) => n.name)).toEqual(['primary', 'replica-1']);
    expect(() => selectNodes('replica-2', pooled, database, {})).toThrow(/--node replica-2: no such node/);
  });
});
