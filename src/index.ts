// The public library: each function returns a result object and never prints; each *Report
// builder turns a result into the Report the renderers read.
export { migrate, migrationStatus, createMigration, migrateReport, migrationStatusReport } from './migrate/index.js';
export type { MigrateResult, StatusResult, MigrateOptions } from './migrate/index.js';
export { seed } from './seed/index.js';
export { seedReport } from './seed/report.js';
export type { SeedResult, SeedOptions } from './seed/index.js';
export { loadConfig, resolveConfig, configJsonSchema } from './config.js';
export type { Config } from './config.js';
export { resolveConnection, targetFromUrl } from './db/connection.js';
export { redact } from './redact.js';
export type { ConnectionTarget } from './db/connection.js';
export { startEmbedded } from './db/embedded.js';
export * from './errors.js';
export type { Report, ReportCheck, ReportSection } from './report.js';
export type { Logger } from './logger.js';
export { refreshViews, refreshPlan, refreshStatus, watchViews } from './refresh/index.js';
export { refreshReport, refreshPlanReport, refreshStatusReport, refreshWatchReport } from './refresh/report.js';
export type {
  RefreshResult,
  RefreshOptions,
  PlanResult as RefreshPlanResult,
  StatusResult as RefreshStatusResult,
  WatchResult,
  ViewResult,
} from './refresh/index.js';
export { audit } from './audit/index.js';
export { auditReport } from './audit/report.js';
export type { AuditResult, AuditOptions, Finding } from './audit/index.js';
export { health } from './health/index.js';
export { healthReport } from './health/report.js';
export type { HealthResult, HealthOptions } from './health/index.js';
export { lintFiles, lintSql, lintReport, RULES } from './migrate/index.js';
export type { LintFinding } from './migrate/index.js';
