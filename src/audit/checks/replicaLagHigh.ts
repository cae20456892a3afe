// replica-lag-high: a standby replays more than fleet.maxReplicaLag behind the primary, so
// reads sent to it see data that old. Judged only while it is behind in bytes: a caught-up
// standby of an idle primary has no lag however long ago the last commit was.
import type { NodeLag } from '../../catalog/replication.js';
import type { Outcome, Severity } from './types.js';

export const replicaLagHigh = {
  kind: 'fleet' as const,
  code: 'replica-lag-high',
  severity: 'error' as Severity,
  summary: 'each standby replays within fleet.maxReplicaLag of the primary',
  check(lag: NodeLag, maxLagMs: number): Outcome | undefined {
    if (!lag.inRecovery) return undefined;
    const limit = `fleet.maxReplicaLag ${maxLagMs >= 1000 ? `${maxLagMs / 1000} s` : `${maxLagMs} ms`}`;
    if (lag.state === 'caught-up') return { status: 'pass', subject: lag.node, message: `${lag.node}: ${lag.note}` };
    // Paused replay behind the primary lags without bound, whatever it measured so far.
    if (lag.paused && (lag.replaySeconds === null || lag.replaySeconds * 1000 <= maxLagMs)) {
      return {
        status: 'fail',
        subject: lag.node,
        message: `${lag.node} has paused replay while behind the primary (${lag.note}): its lag grows past ${limit}. Resume replay with SELECT pg_wal_replay_resume() on the standby.`,
      };
    }
    if (lag.replaySeconds === null)
      return {
        status: 'skip',
        subject: lag.node,
        message: `${lag.node}: ${lag.note}; no replayed commit yet, so the lag in seconds is unknown`,
      };
    if (lag.replaySeconds * 1000 <= maxLagMs)
      return { status: 'pass', subject: lag.node, message: `${lag.node}: ${lag.note}, within ${limit}` };
    return {
      status: 'fail',
      subject: lag.node,
      message:
        `${lag.node} lags ${lag.replaySeconds.toFixed(1)} s behind the primary (${lag.note}), above ${limit}: reads sent there see data that old. ` +
        (lag.paused
          ? 'Resume replay with SELECT pg_wal_replay_resume() on the standby.'
          : 'Look for long queries on the standby holding replay back (max_standby_streaming_delay), or for network and I/O limits.'),
    };
  },
};
