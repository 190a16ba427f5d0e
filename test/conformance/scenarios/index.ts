/**
 * The one list of differential scenarios, in the order they run (one area after another).
 */
import type { Scenario } from '../scenario.js';
import { API_SCENARIOS } from './api-semantics.js';
import { CORE_KIND_SCENARIOS } from './core-kinds.js';
import { CUSTOM_RESOURCE_SCENARIOS } from './custom-resources.js';
import { WORKLOAD_SCENARIOS } from './workloads.js';

export const SCENARIOS: Scenario[] = [
  ...CUSTOM_RESOURCE_SCENARIOS,
  ...WORKLOAD_SCENARIOS,
  ...CORE_KIND_SCENARIOS,
  ...API_SCENARIOS,
];
