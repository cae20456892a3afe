// Every check of dbopt audit, in report order. docs/audit.md has a section per code.
import type { QueryCheck, SchemaCheck } from './types.js';
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
import { rowEstimateOff } from './rowEstimateOff.js';
import { cacheHitLow } from './cacheHitLow.js';
import { invalidIndex } from './invalidIndex.js';
import { duplicateIndex } from './duplicateIndex.js';
import { unusedIndex } from './unusedIndex.js';
import { fkWithoutIndex } from './fkWithoutIndex.js';
import { viewOverdue } from './viewOverdue.js';

export const QUERY_CHECKS: QueryCheck[] = [
  queryError, viewNotPopulated, overBudget, expectedIndexMissing, indexOnlyHeapFetches, noSeqScan, seqScanLarge,
  costRegression, buffersUp, planChanged, rowEstimateOff, cacheHitLow,
];

export const SCHEMA_CHECKS: SchemaCheck[] = [invalidIndex, duplicateIndex, unusedIndex, fkWithoutIndex, viewOverdue];

export type { QueryCheck, SchemaCheck, CheckSettings, Outcome, Severity } from './types.js';

// Checks across nodes (audit --node): src/audit/fleet.ts runs them.
export { replicaLagHigh } from './replicaLagHigh.js';
export { replicaPlanDiffers } from './replicaPlanDiffers.js';
import { replicaLagHigh } from './replicaLagHigh.js';
import { replicaPlanDiffers } from './replicaPlanDiffers.js';
export const FLEET_CHECKS = [replicaLagHigh, replicaPlanDiffers];
