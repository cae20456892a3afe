// Baseline: diff-friendly serialisation, merging under --only, major-version comparability.
import { describe, expect, it } from 'vitest';
import { incomparableReason, nextBaseline, serializeBaseline, type Baseline } from '../../src/audit/baseline.js';
import { fakeRun } from '../fixtures/audit/runs.js';

const server = { version: '18.1', versionNum: 180001, major: 18 };

describe('baseline', () => {
  it('serialises sorted keys with 2-space indent and rounded figures', () => {
    const text = serializeBaseline(nextBaseline(undefined, [fakeRun('b'), fakeRun('a')], server, false));
    const parsed = JSON.parse(text) as Baseline;
    expect(Object.keys(parsed.queries)).toEqual(['a', 'b']);
    expect(Object.keys(parsed)).toEqual(['format', 'queries', 'server']);
    expect(parsed.queries.a!.cost).toBe(8.31);
    expect(parsed.queries.a!.latencyMs.p50).toBe(0.31);
    expect(text).toContain('\n  "queries": {\n    "a": {');
    expect(text.endsWith('}\n')).toBe(true);
  });

  it('keeps other entries under --only, and an old entry for a query that failed', () => {
    const old = nextBaseline(undefined, [fakeRun('a'), fakeRun('b')], server, false);
    const next = nextBaseline(old, [fakeRun('a', { status: 'timeout', latency: undefined })], server, true);
    expect(Object.keys(next.queries)).toEqual(['a', 'b']);
    const full = nextBaseline(old, [fakeRun('a')], server, false);
    expect(Object.keys(full.queries)).toEqual(['a']);
  });

  it('says why a baseline of another major is not compared', () => {
    const old = nextBaseline(undefined, [fakeRun('a')], server, false);
    expect(incomparableReason(old, server)).toBeUndefined();
    expect(incomparableReason(old, { ...server, major: 15 })).toBe(
      'baseline from PostgreSQL 18, server is 15: cost, plan shape and buffers not compared',
    );
  });
});
