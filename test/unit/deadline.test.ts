// Pure parts of the deadline and liveness guards: following the statement_timeout dbopt sets,
// the deadline it implies, and what the message says the server may still be doing.
import { describe, expect, it } from 'vitest';
import { deadlineFor, stillDoing, trackTimeouts } from '../../src/db/deadline.js';

describe('trackTimeouts', () => {
  it('follows SET, SET LOCAL and RESET', () => {
    const s: { sessionTimeoutMs?: number; localTimeoutMs?: number } = {};
    trackTimeouts(s, "SET statement_timeout = '5s'");
    expect(s.sessionTimeoutMs).toBe(5000);
    trackTimeouts(s, 'SET LOCAL statement_timeout TO 250');
    expect(s.localTimeoutMs).toBe(250);
    trackTimeouts(s, 'COMMIT');
    expect(s.localTimeoutMs).toBeUndefined();
    trackTimeouts(s, 'RESET statement_timeout');
    expect(s.sessionTimeoutMs).toBeUndefined();
    trackTimeouts(s, 'SET statement_timeout = 0');
    expect(s.sessionTimeoutMs).toBe(0);
  });

  it('follows set_config with literals or parameters; ROLLBACK TO SAVEPOINT keeps the transaction setting', () => {
    const s: { sessionTimeoutMs?: number; localTimeoutMs?: number } = {};
    trackTimeouts(s, `SELECT set_config('statement_timeout', $1, true), set_config('lock_timeout', $2, true)`, [
      '1500ms',
      '1s',
    ]);
    expect(s.localTimeoutMs).toBe(1500);
    trackTimeouts(s, 'ROLLBACK TO SAVEPOINT run');
    expect(s.localTimeoutMs).toBe(1500);
    trackTimeouts(s, 'ROLLBACK');
    expect(s.localTimeoutMs).toBeUndefined();
    trackTimeouts(s, 'SELECT set_config($1, $2, false)', ['statement_timeout', '30min']);
    expect(s.sessionTimeoutMs).toBe(1_800_000);
    trackTimeouts(s, 'SELECT set_config($1, $2, false)', ['lock_timeout', '1s']);
    expect(s.sessionTimeoutMs).toBe(1_800_000);
  });
});

describe('deadlineFor', () => {
  it('is a little longer than the server-side timeout: at least 2 s more, at most 30 s more', () => {
    expect(deadlineFor(5_000)).toBe(7_000);
    expect(deadlineFor(100_000)).toBe(110_000);
    expect(deadlineFor(1_800_000)).toBe(1_830_000);
  });
});

describe('stillDoing', () => {
  it('tells what a build, a refresh or a load may still do on the server', () => {
    expect(stillDoing('CREATE INDEX CONCURRENTLY i ON t (a)')).toMatch(/next dbopt migrate heals/);
    expect(stillDoing('REFRESH MATERIALIZED VIEW CONCURRENTLY v')).toMatch(/keeps its previous rows/);
    expect(stillDoing('INSERT INTO t SELECT 1')).toMatch(/commit or roll back/);
  });
});
