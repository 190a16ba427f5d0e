/** Patch algorithms of the embedded API server (see README.md in this folder). */
export { PatchError } from './patch-error.js';
export { applyMergePatch } from './merge-patch.js';
export { applyJsonPatch } from './json-patch.js';
export { applyStrategicMergePatch } from './strategic-merge-patch.js';
export { applyServerSideApply, type ApplyOptions, type ApplyResult } from './server-side-apply.js';
