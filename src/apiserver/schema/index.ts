/** Custom resource schema handling of the embedded API server (see README.md in this folder). */
export type { FieldCause } from './field-cause.js';
export { prepareCustomResource, type PrepareResult } from './structural-validator.js';
export { validateCrdDefinition } from './crd-definition.js';
