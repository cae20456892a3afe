// The open model's arrivals (seeded exponential gaps) and its clock (a worker thread that wakes
// the event loop when a request is due): never early, once per wake-up, quiet once stopped.
import { describe, expect, it } from 'vitest';
import { preciseClock } from '../../src/audit/load/clock.js';
import { exponentialGaps } from '../../src/audit/load/engine.js';

describe('exponentialGaps', () => {
  it('draws the same gaps for the same seed, and other gaps for another', () => {
    const a = exponentialGaps(2);
    const b = exponentialGaps(2);
    const c = exponentialGaps(2, 7);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c())).not.toEqual(first);
  });

  it('is exponential with the given mean: mean and standard deviation both 1/rate', () => {
    const gap = exponentialGaps(0.5);
    const n = 200_000;
    let sum = 0;
    let sq = 0;
    let min = Infinity;
    for (let i = 0; i < n; i++) {
      const g = gap();
      sum += g;
      sq += g * g;
      min = Math.min(min, g);
    }
    const mean = sum / n;
    const sd = Math.sqrt(sq / n - mean * mean);
    expect(min).toBeGreaterThanOrEqual(0);
    expect(mean).toBeGreaterThan(0.5 * 0.99);
    expect(mean).toBeLessThan(0.5 * 1.01);
    expect(sd / mean).toBeGreaterThan(0.98);
    expect(sd / mean).toBeLessThan(1.02);
  });
});

describe('preciseClock', () => {
  const now = (): number => Number(process.hrtime.bigint());

  it('wakes once per wakeAt, never before the time asked', async () => {
    const woke: number[] = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const asked: number[] = [];
    const clock = preciseClock(
      () => {
        woke.push(now());
        if (woke.length < 5) {
          asked.push(now() + 2e6);
          clock.wakeAt(asked.at(-1)!);
        } else resolve();
      },
      (err) => {
        throw err;
      },
    );
    asked.push(now() + 2e6);
    clock.wakeAt(asked[0]!);
    await done;
    await clock.stop();
    expect(woke).toHaveLength(5);
    for (let i = 0; i < 5; i++) expect(woke[i]!).toBeGreaterThanOrEqual(asked[i]!);
  });

  it('moveTo puts a pending wake-up later, never earlier', async () => {
    let woke = 0;
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const clock = preciseClock(
      () => {
        woke = now();
        resolve();
      },
      (err) => {
        throw err;
      },
    );
    clock.wakeAt(now() + 2e6);
    const later = now() + 30e6;
    clock.moveTo(later);
    clock.moveTo(now());
    await done;
    await clock.stop();
    expect(woke).toBeGreaterThanOrEqual(later);
  });

  it('a later wakeAt replaces an earlier one; stop ends the worker and nothing more is called', async () => {
    let calls = 0;
    const clock = preciseClock(
      () => calls++,
      (err) => {
        throw err;
      },
    );
    clock.wakeAt(now() + 60_000e6);
    const soon = now() + 5e6;
    clock.wakeAt(soon);
    await new Promise((r) => setTimeout(r, 200));
    expect(calls).toBe(1);
    await clock.stop();
    clock.wakeAt(now());
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toBe(1);
  });
});
