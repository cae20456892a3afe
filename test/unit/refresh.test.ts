// Pure logic of refresh-views: include/exclude patterns, dependency order, mode choice, the
// semaphore, due times with the failure backoff.
import { describe, expect, it } from 'vitest';
import { chooseMode, topologicalOrder } from '../../src/refresh/catalog.js';
import { isManagedView as isManaged } from '../../src/catalog/views.js';
import { Semaphore } from '../../src/refresh/engine.js';
import { dueState, failureBackoffMs, notDueWhy, schedulePeriodMs } from '../../src/refresh/due.js';

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
    await Promise.all(
      [1, 2, 3, 4, 5].map(async (i) => {
        await sem.acquire();
        order.push(i);
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        sem.release();
      }),
    );
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('due times and the failure backoff', () => {
  const t = (iso: string): Date => new Date(iso);
  const now = t('2025-01-01T12:00:00Z');

  it('backs off 30 s doubling per consecutive failure, capped at the schedule period and 1 h', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((n) => failureBackoffMs(n, '1d', now) / 1000)).toEqual([
      30, 60, 120, 240, 480, 960, 1920, 3600,
    ]);
    expect(failureBackoffMs(50, '1d', now)).toBe(3_600_000);
    expect(failureBackoffMs(5, '2m', now)).toBe(120_000);
    expect(failureBackoffMs(1, '1s', now)).toBe(1000);
    expect(failureBackoffMs(0, '1h', now)).toBe(0);
    // A cron schedule's period is the gap between two runs.
    expect(schedulePeriodMs('*/5 * * * *', now)).toBe(300_000);
    expect(failureBackoffMs(9, '*/5 * * * *', now)).toBe(300_000);
  });

  it('is the later of the schedule since the last success and the last failure plus its backoff', () => {
    const never = dueState('1h', undefined, now);
    expect(never).toEqual({ at: now });
    // Never succeeded, failed once 10 s ago: due 20 s from now.
    const failed = dueState(
      '1h',
      { unfinished: 0, failuresSinceSuccess: 1, lastFailure: t('2025-01-01T11:59:50Z') },
      now,
    );
    expect(failed.at).toEqual(t('2025-01-01T12:00:20Z'));
    expect(failed.backoff).toMatchObject({ failures: 1, ms: 30_000 });
    expect(notDueWhy('1h', failed)).toContain('backing off after 1 failed attempt');
    // Three failures: 2 min after the last.
    const three = dueState(
      '1h',
      {
        unfinished: 0,
        lastSuccess: t('2025-01-01T10:00:00Z'),
        failuresSinceSuccess: 3,
        lastFailure: t('2025-01-01T11:59:00Z'),
      },
      now,
    );
    expect(three.at).toEqual(t('2025-01-01T12:01:00Z'));
    // The schedule decides when it is later than the backoff.
    const sched = dueState(
      '1h',
      {
        unfinished: 0,
        lastSuccess: t('2025-01-01T11:30:00Z'),
        failuresSinceSuccess: 1,
        lastFailure: t('2025-01-01T11:40:00Z'),
      },
      now,
    );
    expect(sched).toEqual({ at: t('2025-01-01T12:30:00Z') });
    // Backoff over: due.
    const over = dueState(
      '1h',
      {
        unfinished: 0,
        lastSuccess: t('2025-01-01T10:00:00Z'),
        failuresSinceSuccess: 1,
        lastFailure: t('2025-01-01T11:00:00Z'),
      },
      now,
    );
    expect(over.at.getTime()).toBeLessThanOrEqual(now.getTime());
  });
});
