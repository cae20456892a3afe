// Every check of dbopt audit, in report order. docs/audit.md has a section per code.
import type { CacheCheck, QueryCheck, SchemaCheck } from './types.js';
import { queryError } from './queryError.js';
import { viewNotPopulated } from './viewNotPopulated.js';
import { overBudget } from './overBudget.js';
import { expectedIndexMissing } from './expectedIndexMissing.js';
import { indexOnlyHeapFetches } from './indexOnlyHeapFetches.js';
import { noSeqScan } from './noSeqScan.js';
import { seqScanLarge } from './seqScanLarge.js';
import { costRegression } from './costRegression.js';
import { buffersUp } from './buffersUp.js';
import { planChanged } from './planChanged.js';
import { genericPlanDiffers } from './genericPlanDiffers.js';
import { rowEstimateOff } from './rowEstimateOff.js';
import { cacheHitLow } from './cacheHitLow.js';
import { invalidIndex } from './invalidIndex.js';
import { duplicateIndex } from './duplicateIndex.js';
import { unusedIndex } from './unusedIndex.js';
import { fkWithoutIndex } from './fkWithoutIndex.js';
import { viewOverdue } from './viewOverdue.js';
import { cacheTtlMissing } from './cacheTtlMissing.js';
import { cacheTtlOverPolicy } from './cacheTtlOverPolicy.js';
import { cacheUnknownKeys } from './cacheUnknownKeys.js';
import { cacheHitRatioLow } from './cacheHitRatioLow.js';
import { cacheEvictionPolicy } from './cacheEvictionPolicy.js';
import { cacheBotImbalance } from './cacheBotImbalance.js';

export const QUERY_CHECKS: QueryCheck[] = [
  queryError,
  viewNotPopulated,
  overBudget,
  expectedIndexMissing,
  indexOnlyHeapFetches,
  noSeqScan,
  seqScanLarge,
  costRegression,
  buffersUp,
  planChanged,
  genericPlanDiffers,
  rowEstimateOff,
  cacheHitLow,
];

export const SCHEMA_CHECKS: SchemaCheck[] = [invalidIndex, duplicateIndex, unusedIndex, fkWithoutIndex, viewOverdue];

/** Checks of the Redis cache tier; they run only when the config has a cache section. */
export const CACHE_CHECKS: CacheCheck[] = [
  cacheTtlMissing,
  cacheTtlOverPolicy,
  cacheUnknownKeys,
  cacheHitRatioLow,
  cacheEvictionPolicy,
  cacheBotImbalance,
];

export type { CacheCheck, QueryCheck, SchemaCheck, CheckSettings, Outcome, Severity } from './types.js';

// Checks across nodes (audit --node): src/audit/fleet.ts runs them.
export { replicaLagHigh } from './replicaLagHigh.js';
export { replicaPlanDiffers } from './replicaPlanDiffers.js';
import { replicaLagHigh } from './replicaLagHigh.js';
import { replicaPlanDiffers } from './replicaPlanDiffers.js';
export const FLEET_CHECKS = [replicaLagHigh, replicaPlanDiffers];
