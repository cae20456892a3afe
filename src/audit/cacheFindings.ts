// The cache checks of dbopt audit turned into findings, and the audit's result with them added
// (the PostgreSQL audit and the Redis tier are gathered apart; the CLI joins them here).
import type { CacheTierResult } from '../cache/index.js';
import { CACHE_CHECKS } from './checks/index.js';
import type { AuditResult, Finding } from './index.js';

/** The cache checks as audit findings (same statuses as the query and schema checks). */
export function cacheFindings(t: CacheTierResult): Finding[] {
  const findings: Finding[] = [];
  for (const check of CACHE_CHECKS) {
    for (const o of check.check(t)) {
      const subject = o.subject ?? 'cache';
      const status = o.status === 'fail' ? (check.severity === 'error' ? 'fail' : 'warn') : o.status;
      findings.push({
        id: `${subject}/${check.code}`,
        subject,
        code: check.code,
        severity: check.severity,
        status,
        message: o.message,
      });
    }
  }
  return findings;
}

/** The audit's result with the cache findings added and the counts recomputed. */
export function withCacheTier(r: AuditResult, t: CacheTierResult): AuditResult {
  const findings = [...r.findings, ...cacheFindings(t)];
  return {
    ...r,
    findings,
    cacheTier: t,
    errors: findings.filter((f) => f.status === 'fail').length,
    warnings: findings.filter((f) => f.status === 'warn').length,
  };
}
