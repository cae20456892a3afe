import { describe, expect, it } from 'vitest';
import { bucketOf, Histogram, upperEdge } from '../../src/audit/load/histogram.js';

/** Exact percentile of a sorted copy, the way the audit's single-client summary computes it. */
function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}

describe('log-linear histogram', () => {
  it('maps every value into a bucket whose range holds it', () => {
    for (const us of [0, 1, 127, 128, 129, 255, 256, 1000, 65_535, 65_536, 1_234_567, 2 ** 31 + 5]) {
      const b = bucketOf(us);
      expect(upperEdge(b), String(us)).toBeGreaterThanOrEqual(us);
      if (b > 0) expect(upperEdge(b - 1), String(us)).toBeLessThan(us);
    }
  });

  it('keeps percentiles within 1 % of the exact ones over a wide spread', () => {
    const h = new Histogram();
    const values: number[] = [];
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const v = 0.05 + (x / 2 ** 31) ** 4 * 500;
      values.push(v);
      h.record(v);
    }
    for (const q of [0.5, 0.95, 0.99]) {
      const e = exact(values, q);
      expect(Math.abs(h.percentile(q) - e) / e, String(q)).toBeLessThan(0.01);
    }
    const s = h.summary();
    expect(s.count).toBe(20_000);
    expect(s.max).toBeCloseTo(Math.max(...values), 2);
    expect(s.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 2);
  });

  it('never reports a percentile above the max nor below the true value', () => {
    const h = new Histogram();
    for (const v of [1, 2, 3, 250]) h.record(v);
    expect(h.percentile(1)).toBe(250);
    expect(h.percentile(0.5)).toBeGreaterThanOrEqual(2);
    expect(h.percentile(0.5)).toBeLessThan(2.05);
  });

  it('merges histograms and reports zeros when empty', () => {
    const a = new Histogram();
    const b = new Histogram();
    expect(a.summary()).toEqual({ count: 0, min: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 });
    a.record(1);
    b.record(100);
    a.add(b);
    expect(a.count).toBe(2);
    expect(a.summary().min).toBe(1);
    expect(a.summary().max).toBe(100);
  });
});
