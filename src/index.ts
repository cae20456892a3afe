// The public library: each function returns a result object and never prints.
export { migrate, migrationStatus, createMigration } from './migrate/index.js';
export type { MigrateResult, StatusResult, MigrateOptions } from './migrate/index.js';
export { seed } from './seed/index.js';
export type { SeedResult, SeedOptions } from './seed/index.js';
export { loadConfig, resolveConfig, configJsonSchema } from './config.js';
export type { Config } from './config.js';
export { resolveConnection, targetFromUrl, redact } from './db/connection.js';
export type { ConnectionTarget } from './db/connection.js';
export { startEmbedded } from './db/embedded.js';
export * from './errors.js';
export type { Report, ReportCheck, ReportSection } from './report.js';
export type { Logger } from './logger.js';
export { refreshViews, refreshPlan, refreshStatus, watchViews } from './refresh/index.js';
export type { RefreshResult, RefreshOptions, PlanResult as RefreshPlanResult, StatusResult as RefreshStatusResult, WatchResult, ViewResult } from './refresh/index.js';
