// View staleness over time, from dbopt's own dbopt.refresh_history: each finished refresh of
// the last days, so the HTML report can draw how old each view's data was at every moment
// (it drops at each successful refresh and grows until the next).
import type { Client } from 'pg';

export interface RefreshEvent {
  view: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: string;
  durationMs: number | null;
}

/** The newest `limit` refreshes of the last `days` days, oldest first. */
export async function refreshTimeline(client: Client, days = 7, limit = 2000): Promise<RefreshEvent[]> {
  const res = await client.query<{
    view_name: string;
    started_at: Date;
    finished_at: Date | null;
    outcome: string | null;
    duration_ms: string | null;
  }>(
    `SELECT view_name, started_at, finished_at, outcome, duration_ms::text AS duration_ms
       FROM (SELECT view_name, started_at, finished_at, outcome, duration_ms
               FROM dbopt.refresh_history
              WHERE started_at > now() - make_interval(days => $1)
              ORDER BY started_at DESC
              LIMIT $2) AS recent
      ORDER BY started_at`,
    [days, limit],
  );
  return res.rows.map((r) => ({
    view: r.view_name,
    startedAt: r.started_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
    outcome: r.outcome ?? 'unfinished',
    durationMs: r.duration_ms === null ? null : Number(r.duration_ms),
  }));
}
