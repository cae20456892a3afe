// --format json: the result object with keys sorted at every level, so output diffs cleanly.
import type { Report } from '../../report.js';
import { stableStringify } from '../../stableJson.js';

export function renderJson(report: Report): string {
  return stableStringify({
    command: report.command,
    ok: report.ok,
    server: report.server,
    summary: report.summary,
    checks: report.checks,
    result: report.data,
  });
}
