#!/usr/bin/env node
// bench/cache: the cache tier's sampled estimate against an exact full SCAN (the peer: SCAN
// every key, classify it, PTTL every key, pipelined) on 1,000,000 keys across the five
// reference namespaces, in a private redis-server on a free port (the shared one is not
// touched). Goals: the estimate >= 10x faster than the exact scan, every namespace's key
// count within 5 % and its no-TTL share within 5 points, the report's Redis section < 1 s.
// Needs `npm run build`. Usage: node bench/cache.js [--keys N] [--json]
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const totalKeys = Number(args[args.indexOf('--keys') + 1]) || 1_000_000;
const { cacheTier } = await import(path.join(root, 'dist/cache/index.js'));
const { seedCache } = await import(path.join(root, 'dist/cache/seed.js'));
const { compileNamespace } = await import(path.join(root, 'dist/cache/estimate.js'));
const { resolveCacheSection } = await import(path.join(root, 'dist/cache/config.js'));
const { createClient } = await import('@redis/client');

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});
const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
const stop = () => server.kill('SIGTERM');
process.on('exit', stop);
const url = `redis://127.0.0.1:${port}/0`;

try {
  const raw = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(path.join(root, 'dbopt.config.json'), 'utf8'))).cache;
  const problems = [];
  const config = resolveCacheSection({ ...raw, url }, {}, problems);
  if (!config) throw new Error(problems.join('; '));
  const client = createClient({ url, RESP: 2, disableClientInfo: true });
  client.on('error', () => undefined);
  for (let i = 0; i < 50; i++) {
    try {
      await client.connect();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  // 500 bots (scale 100): one config key each, the rest split 40/30/20/10 %.
  const scale = 100;
  const rest = totalKeys - 5 * scale;
  const split = { sessions: 0.4, conversations: 0.3, profiles: 0.2, analytics: 0.1 };
  const keysPerNamespace = Object.fromEntries(Object.entries(split).map(([k, f]) => [k, Math.round(rest * f)]));
  let t = performance.now();
  const seeded = await seedCache({ config, scale, keysPerNamespace });
  // Every 20th profile loses its TTL: a no-TTL share the estimate must find.
  const profiles = compileNamespace(config.namespaces.find((n) => n.name === 'profiles'));
  let cursor = '0';
  const persisted = [];
  do {
    const [c, keys] = await client.sendCommand(['SCAN', cursor, 'MATCH', profiles.glob, 'COUNT', '5000']);
    cursor = String(c);
    for (const k of keys) if (Number(String(k).split(':').pop()) % 20 === 0) persisted.push(String(k));
  } while (cursor !== '0');
  for (let i = 0; i < persisted.length; i += 1000) await Promise.all(persisted.slice(i, i + 1000).map((k) => client.sendCommand(['PERSIST', k])));
  const fillMs = performance.now() - t;
  const dbsize = Number(await client.sendCommand(['DBSIZE']));
  console.log(`filled ${dbsize.toLocaleString('en-US')} keys (${seeded.keys.toLocaleString('en-US')} seeded, ${persisted.length.toLocaleString('en-US')} without TTL) in ${(fillMs / 1000).toFixed(1)} s`);

  // The peer: an exact full SCAN with PTTL on every key.
  const compiled = config.namespaces.map(compileNamespace);
  t = performance.now();
  const exact = Object.fromEntries(compiled.map((n) => [n.name, { keys: 0, noTtl: 0 }]));
  cursor = '0';
  do {
    const [c, keys] = await client.sendCommand(['SCAN', cursor, 'COUNT', '1000']);
    cursor = String(c);
    const ttls = await Promise.all(keys.map((k) => client.sendCommand(['PTTL', k])));
    keys.forEach((k, i) => {
      const ns = compiled.find((n) => n.regex.test(String(k)));
      if (!ns) return;
      exact[ns.name].keys++;
      if (Number(ttls[i]) === -1) exact[ns.name].noTtl++;
    });
  } while (cursor !== '0');
  const peerMs = performance.now() - t;

  // dbopt: the report's cache section (the estimate).
  const runs = [];
  let result;
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    result = await cacheTier({ config });
    runs.push(performance.now() - t);
  }
  const oursMs = runs.sort((a, b) => a - b)[1];
  await client.close();

  let worstCount = 0, worstShare = 0;
  console.log('namespace       exact keys   estimate   error   no-TTL exact   estimate   method');
  for (const n of result.namespaces) {
    const e = exact[n.name];
    const err = e.keys ? Math.abs(n.keys - e.keys) / e.keys : 0;
    const shareExact = e.keys ? e.noTtl / e.keys : 0;
    const shareErr = Math.abs((n.noTtlShare ?? 0) - shareExact);
    worstCount = Math.max(worstCount, err);
    worstShare = Math.max(worstShare, shareErr);
    console.log(`${n.name.padEnd(14)} ${String(e.keys).padStart(11)} ${String(n.keys).padStart(10)} ${(err * 100).toFixed(2).padStart(6)} % ${(shareExact * 100).toFixed(2).padStart(10)} % ${((n.noTtlShare ?? 0) * 100).toFixed(2).padStart(8)} %   ${n.method}`);
  }
  const ratio = +(peerMs / oursMs).toFixed(1);
  console.log(`exact full SCAN + PTTL: ${peerMs.toFixed(0)} ms; dbopt estimate (median of 3): ${oursMs.toFixed(0)} ms (${runs.map((x) => x.toFixed(0)).join(', ')}); commands: ${JSON.stringify(result.commands)}`);
  const accurate = worstCount <= 0.05 && worstShare <= 0.05;
  console.log(`RESULT ${JSON.stringify({ bench: 'cache', measure: `namespace sizes and no-TTL shares, ${dbsize.toLocaleString('en-US')} keys (worst count error ${(worstCount * 100).toFixed(2)} %, worst share error ${(worstShare * 100).toFixed(2)} pts)`, value: `${oursMs.toFixed(0)} ms`, peer: `exact full SCAN + PTTL (${peerMs.toFixed(0)} ms)`, ratio, goal: '>= 10x faster, every namespace within 5 %', met: ratio >= 10 && accurate })}`);
  console.log(`RESULT ${JSON.stringify({ bench: 'cache', measure: 'report Redis section wall time', value: `${oursMs.toFixed(0)} ms`, peer: '1 s budget', ratio: +(oursMs / 1000).toFixed(2), goal: '< 1 s', met: oursMs < 1000 })}`);
} finally {
  stop();
}
