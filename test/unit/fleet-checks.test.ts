// replica-lag-high and replica-plan-differs: ok and failing cases, from plain facts.
import { describe, expect, it } from 'vitest';
import { replicaLagHigh } from '../../src/audit/checks/replicaLagHigh.js';
import { replicaPlanDiffers } from '../../src/audit/checks/replicaPlanDiffers.js';
import { fleetFindings } from '../../src/audit/fleet.js';
import { analyzePlan } from '../../src/audit/plan.js';
import type { NodeLag } from '../../src/catalog/replication.js';
import { fakeRun } from '../fixtures/audit/runs.js';

const lag = (over: Partial<NodeLag> = {}): NodeLag => ({
  node: 'replica-1',
  display: 'app@r1:5432/app',
  inRecovery: true,
  replayBytes: 0,
  receivedNotReplayedBytes: 0,
  replaySeconds: 0,
  paused: false,
  lastReplayAt: '2026-01-01T00:00:00.000Z',
  state: 'caught-up',
  note: 'caught up: replayed everything the primary wrote (the primary has been idle since the last replayed commit 600 s ago)',
  ...over,
});

describe('replica-lag-high', () => {
  it('passes a caught-up standby of an idle primary however old its last commit', () => {
    const o = replicaLagHigh.check(lag(), 30_000)!;
    expect(o.status).toBe('pass');
    expect(o.message).toContain('the primary has been idle');
  });
  it('passes a standby behind within the limit', () => {
    expect(
      replicaLagHigh.check(
        lag({ state: 'behind', replayBytes: 8192, replaySeconds: 2, note: '8,192 bytes behind' }),
        30_000,
      )!.status,
    ).toBe('pass');
  });
  it('fails a standby behind beyond fleet.maxReplicaLag, naming node, seconds and limit', () => {
    const o = replicaLagHigh.check(
      lag({ state: 'behind', replayBytes: 1_000_000, replaySeconds: 45.2, note: '1,000,000 bytes behind' }),
      30_000,
    )!;
    expect(o.status).toBe('fail');
    expect(o.message).toMatch(
      /^replica-1 lags 45\.2 s behind the primary \(1,000,000 bytes behind\), above fleet\.maxReplicaLag 30 s/,
    );
  });
  it('fails paused replay behind the primary even before the seconds add up', () => {
    const o = replicaLagHigh.check(
      lag({
        state: 'paused',
        paused: true,
        replayBytes: 200,
        replaySeconds: null,
        note: '200 bytes behind; replay is paused',
      }),
      30_000,
    )!;
    expect(o.status).toBe('fail');
    expect(o.message).toContain('pg_wal_replay_resume()');
  });
  it('does not apply to a node that is not in recovery', () => {
    expect(replicaLagHigh.check(lag({ inRecovery: false, state: 'not-a-standby' }), 30_000)).toBeUndefined();
  });
});

describe('replica-plan-differs', () => {
  const seq = analyzePlan({
    Plan: {
      'Node Type': 'Seq Scan',
      'Relation Name': 't',
      'Total Cost': 400,
      'Plan Rows': 1,
      'Actual Rows': 1,
      'Actual Loops': 1,
    },
  });
  it('passes the same plan shape', () => {
    expect(replicaPlanDiffers.check(fakeRun('q'), fakeRun('q'), 'replica-1')!.status).toBe('pass');
  });
  it('warns when the replica plans otherwise, showing both shapes', () => {
    const o = replicaPlanDiffers.check(fakeRun('q'), fakeRun('q', { plan: seq }), 'replica-1')!;
    expect(o.status).toBe('fail');
    expect(o.subject).toBe('replica-1:q');
    expect(o.message).toMatch(/plans differently on replica-1: primary Index Scan.*; replica-1 Seq Scan on t/);
  });
  it('becomes a warning finding with the query file in fleetFindings', () => {
    const result = (runs: ReturnType<typeof fakeRun>[]) => ({ queries: runs, findings: [] }) as never;
    const findings = fleetFindings(
      [
        { name: 'primary', result: result([fakeRun('q')]) },
        { name: 'replica-1', result: result([fakeRun('q', { plan: seq })]) },
      ],
      { primaryLsn: '0/1', standbys: [], nodes: [lag()] },
      30_000,
    );
    expect(findings.map((f) => [f.id, f.status])).toEqual([
      ['replica-1/replica-lag-high', 'pass'],
      ['replica-1:q/replica-plan-differs', 'warn'],
    ]);
    expect(findings[1]!.file).toBe('queries/q.sql');
  });
});
