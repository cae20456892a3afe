// The state a refresh decision is made from: managed views (catalog), their history and the
// server's clock (due times are judged on the server's clock, never a fleet member's own).
import type { Pool, PoolClient } from 'pg';
import type { Config } from '../config.js';
import { discoverViews, type ManagedView } from './catalog.js';
import { dueState, type DueState } from './due.js';
import { checkout } from './engine.js';
import { readHistory, type ViewHistory } from './history.js';
import { scheduleFor } from '../schedule.js';

export { scheduleFor } from '../schedule.js';

export type RefreshSettings = Config['refresh'];

export interface Snapshot {
  views: ManagedView[];
  history: Map<string, ViewHistory>;
  now: Date;
}

export async function takeSnapshot(client: PoolClient | Pool, settings: RefreshSettings): Promise<Snapshot> {
  const c = 'release' in client ? client : await checkout(client as Pool);
  try {
    const views = await discoverViews(c, settings.include, settings.exclude);
    const history = await readHistory(
      c,
      views.map((v) => v.qualified),
    );
    const { rows } = await c.query<{ now: Date }>('SELECT clock_timestamp() AS now');
    return { views, history, now: rows[0]!.now };
  } finally {
    if (c !== client) c.release();
  }
}

/** When the view is next due: its schedule, or later while backing off after failures. */
export function dueOf(settings: RefreshSettings, view: string, snap: Snapshot): DueState {
  return dueState(scheduleFor(settings, view), snap.history.get(view), snap.now);
}

export function dueAt(settings: RefreshSettings, view: string, snap: Snapshot): Date {
  return dueOf(settings, view, snap).at;
}
