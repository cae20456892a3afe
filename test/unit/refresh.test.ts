// Pure logic of refresh-views: include/exclude patterns, dependency order, mode choice, the semaphore.
import { describe, expect, it } from 'vitest';
import { chooseMode, isManaged, topologicalOrder } from '../../src/refresh/catalog.js';
import { Semaphore } from '../../src/refresh/engine.js';

describe('include/exclude patterns', () => {
  it('matches schema.name with * wildcards and nothing else', () => {
    expect(isManaged('analytics.daily', ['*.*'], [])).toBe(true);
    expect(isManaged('analytics.daily', ['analytics.*'], [])).toBe(true);
    expect(isManaged('public.daily', ['analytics.*'], [])).toBe(false);
    expect(isManaged('analytics.daily', ['analytics.*'], ['*.daily'])).toBe(false);
    // A dot is literal, not "any character".
    expect(isManaged('analyticsXdaily', ['analytics.daily'], [])).toBe(false);
  });
});

describe('topologicalOrder', () => {
  it('puts dependencies first, by name among equals, ignoring unmanaged dependencies', () => {
    const views = [
      { qualified: 's.summary', dependsOn: ['s.engagement'] },
      { qualified: 's.engagement', dependsOn: ['other.unmanaged'] },
      { qualified: 's.daily', dependsOn: [] },
      { qualified: 's.top', dependsOn: ['s.summary', 's.daily'] },
    ];
    expect(topologicalOrder(views).map((v) => v.qualified)).toEqual(['s.daily', 's.engagement', 's.summary', 's.top']);
  });
});

describe('chooseMode', () => {
  it('is concurrent only when populated with a usable unique index', () => {
    const conc = chooseMode({ qualified: 'a.b', populated: true, uniqueIndex: 'b_pkey' });
    expect(conc.mode).toBe('concurrent');
    expect(conc.warning).toBeUndefined();
    const first = chooseMode({ qualified: 'a.b', populated: false, uniqueIndex: 'b_pkey' });
    expect(first.mode).toBe('plain');
    expect(first.warning).toBeUndefined();
    expect(first.why).toContain('never populated');
    const none = chooseMode({ qualified: 'a.b', populated: true });
    expect(none.mode).toBe('plain');
    expect(none.warning).toContain('ACCESS EXCLUSIVE');
    expect(none.warning).toContain('CREATE UNIQUE INDEX CONCURRENTLY ON a.b');
  });
});

describe('Semaphore', () => {
  it('admits at most its size at once, in arrival order', async () => {
    const sem = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4, 5].map(async (i) => {
      await sem.acquire();
      order.push(i);
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      sem.release();
    }));
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });
});
