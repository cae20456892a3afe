// Replication lag of each standby, read-only, from both ends: pg_stat_replication on the
// primary (what it has sent and what each standby reports replayed) and
// pg_last_wal_receive_lsn / pg_last_wal_replay_lsn / pg_last_xact_replay_timestamp on the
// standby. Bytes behind are the primary's current WAL position minus the standby's replay
// position. Seconds are only meaningful while bytes are behind: on an idle primary
// "now() - last replayed commit" grows without any lag, so a caught-up standby says so.
// https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-REPLICATION-VIEW
// https://www.postgresql.org/docs/current/functions-admin.html#FUNCTIONS-RECOVERY-INFO-TABLE
import type { Client } from 'pg';
import { connect, type ConnectionTarget } from '../db/connection.js';
import { readOnly } from '../db/envelope.js';

export interface StandbyOnPrimary {
  applicationName: string;
  clientAddr: string | null;
  state: string;
  /** pg_current_wal_lsn() - replay_lsn. */
  replayBytes: number | null;
  /** replay_lag (NULL when the standby has caught up and the primary is idle). */
  replayLagSeconds: number | null;
}

export interface NodeLag {
  node: string;
  display: string;
  inRecovery: boolean;
  /** The primary's current WAL position minus this node's replay position. */
  replayBytes: number | null;
  /** Received from the primary but not yet replayed. */
  receivedNotReplayedBytes: number | null;
  /** Seconds since the last replayed commit, counted only while behind (else 0). */
  replaySeconds: number | null;
  paused: boolean;
  lastReplayAt: string | null;
  /** caught-up (idle primary or no lag), behind, paused, not-a-standby. */
  state: 'caught-up' | 'behind' | 'paused' | 'not-a-standby';
  note: string;
}

export interface ReplicationFacts {
  primaryLsn: string | null;
  standbys: StandbyOnPrimary[];
  nodes: NodeLag[];
}

const TIMEOUTS = { statementTimeoutMs: 5000, lockTimeoutMs: 1000 };

async function withClient<T>(target: ConnectionTarget, work: (c: Client) => Promise<T>): Promise<T> {
  const c = await connect(target);
  try {
    return await readOnly(c, TIMEOUTS, () => work(c));
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Lag of every `nodes` entry against `primary` (the primary's `url` target). */
export async function replicationFacts(
  primary: ConnectionTarget,
  nodes: { name: string; target: ConnectionTarget }[],
): Promise<ReplicationFacts> {
  const head = await withClient(primary, async (c) => {
    const { rows } = await c.query<{ recovery: boolean; lsn: string | null }>(
      `SELECT pg_is_in_recovery() AS recovery,
              CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS lsn`,
    );
    const standbys =
      rows[0]!.lsn === null
        ? []
        : (
            await c.query<{
              application_name: string;
              client_addr: string | null;
              state: string;
              bytes: string | null;
              lag: string | null;
            }>(
              `SELECT application_name,
              host(client_addr) AS client_addr,
              state,
              pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::text AS bytes,
              extract(epoch FROM replay_lag)::text AS lag
         FROM pg_stat_replication
        ORDER BY application_name`,
            )
          ).rows;
    return { lsn: rows[0]!.lsn, standbys };
  });
  const out: NodeLag[] = [];
  for (const node of nodes) {
    out.push(
      await withClient(node.target, async (c) => {
        const { rows } = await c.query<{
          recovery: boolean;
          behind: string | null;
          unreplayed: string | null;
          paused: boolean | null;
          last: Date | null;
          since: string | null;
        }>(
          `SELECT pg_is_in_recovery() AS recovery,
                CASE WHEN pg_is_in_recovery() AND $1::text IS NOT NULL
                     THEN greatest(pg_wal_lsn_diff($1::text::pg_lsn, pg_last_wal_replay_lsn()), 0)::text END AS behind,
                CASE WHEN pg_is_in_recovery()
                     THEN greatest(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::text END AS unreplayed,
                CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END AS paused,
                pg_last_xact_replay_timestamp() AS last,
                extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::text AS since`,
          [head.lsn],
        );
        const r = rows[0]!;
        const base = {
          node: node.name,
          display: node.target.display,
          lastReplayAt: r.last ? r.last.toISOString() : null,
        };
        if (!r.recovery) {
          return {
            ...base,
            inRecovery: false,
            replayBytes: null,
            receivedNotReplayedBytes: null,
            replaySeconds: null,
            paused: false,
            state: 'not-a-standby',
            note: 'not in recovery: a primary',
          } satisfies NodeLag;
        }
        const bytes = r.behind === null ? null : Number(r.behind);
        const unreplayed = r.unreplayed === null ? null : Number(r.unreplayed);
        const behind = (bytes ?? 0) > 0 || (unreplayed ?? 0) > 0;
        const seconds = behind ? (r.since === null ? null : Math.max(0, Number(r.since))) : 0;
        const paused = Boolean(r.paused);
        const state: NodeLag['state'] = paused && behind ? 'paused' : behind ? 'behind' : 'caught-up';
        const note =
          state === 'caught-up'
            ? `caught up: replayed everything the primary wrote${r.since !== null ? ` (the primary has been idle since the last replayed commit ${Math.round(Number(r.since))} s ago)` : ''}`
            : `${(bytes ?? unreplayed ?? 0).toLocaleString('en-US')} bytes behind${seconds !== null ? `, last replayed commit ${seconds.toFixed(1)} s ago` : ''}${paused ? '; replay is paused (pg_wal_replay_resume() resumes it)' : ''}`;
        return {
          ...base,
          inRecovery: true,
          replayBytes: bytes,
          receivedNotReplayedBytes: unreplayed,
          replaySeconds: seconds,
          paused,
          state,
          note,
        } satisfies NodeLag;
      }),
    );
  }
  return {
    primaryLsn: head.lsn,
    standbys: head.standbys.map((s) => ({
      applicationName: s.application_name,
      clientAddr: s.client_addr,
      state: s.state,
      replayBytes: s.bytes === null ? null : Number(s.bytes),
      replayLagSeconds: s.lag === null ? null : Number(s.lag),
    })),
    nodes: out,
  };
}
