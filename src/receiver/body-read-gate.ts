/**
 * A bound on request bodies being read before their sender is authenticated. A body read holds
 * its bytes in Node Buffers (outside the V8 heap limit), so without a bound N slow senders hold up
 * to N times the body limit: 300 slow webhook senders took the receiver from 178 to 485 MB RSS.
 * Past the bound the receiver answers 503 with `Retry-After` without reading anything.
 */
import { HttpError } from './http-error.js';

export interface BodyReadGate {
  /** Take a slot, or throw HttpError 503 when all are taken. Call the returned function once done. */
  enter(): () => void;
  /** Slots in use (for tests and metrics). */
  inUse(): number;
}

/** A gate of `max` slots, shared by every route that reads unauthenticated bodies. */
export function createBodyReadGate(max: number): BodyReadGate {
  let used = 0;
  return {
    enter() {
      if (used >= max)
        throw new HttpError(
          503,
          'unavailable',
          'too many requests are sending their bodies at once; retry shortly',
          undefined,
          { 'Retry-After': '1', Connection: 'close' },
        );
      used += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        used -= 1;
      };
    },
    inUse: () => used,
  };
}
