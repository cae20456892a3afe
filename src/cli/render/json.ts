// --format json: the result object with keys sorted at every level, so output diffs cleanly.
import type { Report } from '../../report.js';

export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value instanceof Date) return value.toISOString();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function renderJson(report: Report): string {
  return JSON.stringify(sortKeys({
    command: report.command,
    ok: report.ok,
    server: report.server,
    summary: report.summary,
    checks: report.checks,
    result: report.data,
  }), null, 2) + '\n';
}
