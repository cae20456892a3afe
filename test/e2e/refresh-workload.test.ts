// `dbopt refresh-views` on the reference workload with the repository's dbopt.config.json:
// the analytics views refresh in dependency order (the summary after the view it reads),
// then nothing is due for an hour.
import { describe, expect, it } from 'vitest';
import { runCli, REPO_ROOT } from '../helpers/cli.js';
import { withWorkloadDatabase } from '../helpers/workload.js';

const workload = withWorkloadDatabase();

describe('refresh-views on the reference workload', () => {
  it('refreshes the analytics views with the repository config, the summary after the view it reads', async () => {
    const r = await runCli(['refresh-views', '--format', 'json'], {
      cwd: REPO_ROOT,
      env: { DATABASE_URL: workload.get().url },
    });
    expect(r.code).toBe(0);
    const views = JSON.parse(r.stdout).result.views as { view: string; outcome: string; schedule: string }[];
    expect(views.map((v) => v.view)).toEqual([
      'analytics.daily_bot_activity',
      'analytics.user_engagement',
      'analytics.bot_engagement_summary',
    ]);
    for (const v of views) expect(v).toMatchObject({ outcome: 'refreshed', schedule: '1h' });
    const { rows } = await workload.get().client.query(`
      SELECT view_name, started_at, finished_at FROM dbopt.refresh_history WHERE view_name IN ('analytics.user_engagement', 'analytics.bot_engagement_summary')`);
    const t = Object.fromEntries(rows.map((x) => [x.view_name, x]));
    expect(t['analytics.bot_engagement_summary'].started_at.getTime()).toBeGreaterThanOrEqual(
      t['analytics.user_engagement'].finished_at.getTime(),
    );
    const again = await runCli(['refresh-views', '--format', 'json'], {
      cwd: REPO_ROOT,
      env: { DATABASE_URL: workload.get().url },
    });
    expect(JSON.parse(again.stdout).result.views.map((v: { outcome: string }) => v.outcome)).toEqual([
      'skipped-not-due',
      'skipped-not-due',
      'skipped-not-due',
    ]);
  });
});
