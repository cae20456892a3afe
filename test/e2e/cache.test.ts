// The built CLI with a cache section: dbopt audit exits 1 on keys without a TTL naming the
// namespace and an example key; report shows the "Cache tier" sections; seed --cache fills
// Redis without PostgreSQL; a Redis password with URL-special characters never appears in any
// output (a private redis-server with requirepass), report and audit send no write command
// (its commandstats), and an unreachable or wrongly authenticated Redis exits 3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withTestDatabase } from '../helpers/db.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import {
  commandStats,
  noRedis,
  rawClient,
  startPrivateRedis,
  testRedisUrl,
  type PrivateRedis,
  type Raw,
} from '../helpers/redis.js';
import { READ_COMMANDS } from '../../src/cache/client.js';

const db = withTestDatabase('dbopt_e2e_cache');
const root = mkdtempSync(path.join(tmpdir(), 'dbopt-e2e-cache-'));
const DB_E2E = 14;
const PASSWORD = 'p@ss:w/rd#%?&=+ x';

const NAMESPACES = {
  sessions: { pattern: 'bot:{bot}:session:*', ttl: '5m' },
  profiles: { pattern: 'bot:{bot}:profile:*', ttl: '4h' },
  config: { pattern: 'bot:{bot}:config', ttl: '24h' },
};

/** A project directory with a config (cache.url given) and one trivial query. */
function project(name: string, cacheUrl: string | undefined): string {
  const dir = path.join(root, name);
  mkdirSync(path.join(dir, 'queries'), { recursive: true });
  writeFileSync(path.join(dir, 'queries', 'one.sql'), '-- name: one\n-- tier: hot\nSELECT 1 AS one;\n');
  const cache = cacheUrl === undefined ? {} : { cache: { url: cacheUrl, namespaces: NAMESPACES } };
  writeFileSync(
    path.join(dir, 'dbopt.config.json'),
    JSON.stringify({ audit: { runs: 3, warmup: 1 }, ...cache }, null, 2),
  );
  return dir;
}

function dbopt(args: string[], cwd: string, env: Record<string, string | undefined> = {}): Promise<CliResult> {
  return runCli(args, { cwd, env: { DATABASE_URL: db.get().url, ...env } });
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(noRedis)('dbopt with a cache section (built CLI)', () => {
  let shared: Raw;
  beforeAll(async () => {
    shared = await rawClient(testRedisUrl(DB_E2E));
    await shared.sendCommand(['FLUSHDB']);
  });
  afterAll(async () => {
    await shared?.sendCommand(['FLUSHDB']).catch(() => undefined);
    await shared?.close().catch(() => undefined);
  });

  it('seed --cache fills the namespaces without PostgreSQL; audit passes; keys without TTL then exit 1 naming namespace and key', async () => {
    const dir = project('ttl', testRedisUrl(DB_E2E));
    const seeded = await dbopt(['seed', '--cache', '--scale', '1'], dir, { DATABASE_URL: undefined });
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.stdout).toContain('Seeded the cache tier: 6,005 keys for 5 bots (scale 1)');
    expect(Number(await shared.sendCommand(['DBSIZE']))).toBe(6005);

    const clean = await dbopt(['audit'], dir);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain('Cache namespaces');

    for (let i = 0; i < 400; i++) await shared.sendCommand(['SET', `bot:2:profile:no-ttl-${i}`, 'x']);
    const r = await dbopt(['audit', '--format', 'json'], dir);
    expect(r.code, r.stderr).toBe(1);
    const out = (
      JSON.parse(r.stdout) as {
        result: { findings: { code: string; status: string; subject: string; message: string }[] };
      }
    ).result;
    const f = out.findings.find((x) => x.code === 'cache-ttl-missing' && x.status === 'fail')!;
    expect(f.subject).toBe('cache:profiles');
    expect(f.message).toMatch(/namespace profiles .* e\.g\. bot:2:profile:no-ttl-\d+/);

    const report = await dbopt(['report'], dir);
    expect(report.code, report.stderr).toBe(0);
    for (const title of ['Cache tier (Redis', 'Cache namespaces', 'Cache bots', 'Keys outside every namespace'])
      expect(report.stdout).toContain(title);
    const json = await dbopt(['report', '--format', 'json'], dir);
    const tier = (
      JSON.parse(json.stdout) as {
        result: { cacheTier: { namespaces: { name: string; pattern: string; noTtl: number }[] } };
      }
    ).result.cacheTier;
    expect(tier.namespaces.find((x) => x.name === 'profiles')).toMatchObject({ pattern: 'bot:{bot}:profile:*' });
    expect(tier.namespaces.find((x) => x.name === 'profiles')!.noTtl).toBeGreaterThan(0);
  });

  it('without a cache section nothing about Redis runs; seed --cache says what to add (exit 2)', async () => {
    const dir = project('none', undefined);
    const r = await dbopt(['report'], dir, { DBOPT_CACHE_URL: undefined });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('Cache tier');
    const s = await dbopt(['seed', '--cache'], dir);
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('has no cache section');
  });

  describe('a private redis-server with requirepass', () => {
    let server: PrivateRedis;
    let admin: Raw;
    beforeAll(async () => {
      server = await startPrivateRedis({ password: PASSWORD });
      admin = await rawClient(server.url);
    });
    afterAll(async () => {
      await admin?.close().catch(() => undefined);
      await server?.stop();
    });

    const leaks = (r: CliResult): string[] => {
      const all = r.stdout + r.stderr;
      return [PASSWORD, encodeURIComponent(PASSWORD), 'p@ss', 'w/rd'].filter((s) => all.includes(s));
    };

    it('the password (URL-special characters) never appears, report and audit send no write command, a wrong one exits 3', async () => {
      const dir = project('auth', server.url);
      const seeded = await dbopt(['seed', '--cache', '--verbose'], dir);
      expect(seeded.code, seeded.stderr).toBe(0);
      expect(leaks(seeded)).toEqual([]);
      expect(seeded.stdout).toContain(`redis://127.0.0.1:${server.port}/0`);

      await admin.sendCommand(['CONFIG', 'RESETSTAT']);
      const runs = [
        await dbopt(['report', '--verbose'], dir),
        await dbopt(['report', '--format', 'json'], dir),
        await dbopt(['audit', '--verbose', '--window', '100ms'], dir),
        await dbopt(['audit', '--format', 'markdown'], dir, { DBOPT_CACHE_URL: server.url }),
      ];
      for (const r of runs) {
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(leaks(r)).toEqual([]);
      }
      const stats = await commandStats(admin);
      const allowed = new Set([...READ_COMMANDS].map((c) => c.toLowerCase().replace(' ', '|')));
      for (const extra of ['auth', 'select', 'hello', 'config|resetstat', 'info']) allowed.add(extra);
      expect(Object.keys(stats).filter((n) => !allowed.has(n))).toEqual([]);
      expect(stats.auth).toBeGreaterThanOrEqual(4);

      const wrong = server.url.replace(encodeURIComponent(PASSWORD), encodeURIComponent('n0t:the/p@ss'));
      const bad = await dbopt(['report'], dir, { DBOPT_CACHE_URL: wrong });
      expect(bad.code).toBe(3);
      expect(bad.stderr).toContain(`cannot authenticate to Redis at redis://127.0.0.1:${server.port}/0`);
      expect(leaks(bad)).toEqual([]);
      expect(bad.stderr).not.toContain('n0t');
    });

    it('rediss:// speaks TLS (the CA from NODE_EXTRA_CA_CERTS); an untrusted certificate exits 3', async () => {
      const tls = await startPrivateRedis({ tls: true, password: PASSWORD });
      try {
        const dir = project('tls', tls.url);
        const env = { NODE_EXTRA_CA_CERTS: tls.caFile };
        const seeded = await dbopt(['seed', '--cache'], dir, env);
        expect(seeded.code, seeded.stderr).toBe(0);
        const r = await dbopt(['report'], dir, env);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain(`Cache tier (Redis `);
        expect(r.stdout).toContain(`rediss://127.0.0.1:${tls.port}/0`);
        expect(leaks(r)).toEqual([]);
        const untrusted = await dbopt(['report'], dir, { NODE_EXTRA_CA_CERTS: undefined });
        expect(untrusted.code).toBe(3);
        expect(untrusted.stderr).toContain(`cannot connect to Redis at rediss://127.0.0.1:${tls.port}/0`);
        expect(leaks(untrusted)).toEqual([]);
      } finally {
        await tls.stop();
      }
    });

    it('an unreachable Redis exits 3 naming it without its password', async () => {
      const dir = project('down', `redis://:${encodeURIComponent(PASSWORD)}@127.0.0.1:1/0`);
      const r = await dbopt(['audit'], dir);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('cannot connect to Redis at redis://127.0.0.1:1/0');
      expect(leaks(r)).toEqual([]);
    });
  });
});
