/**
 * Validation of `POST /v1/dispatch` bodies. Two shapes are accepted:
 *
 * - native: `{namespace, target, image | images, container?, environment?, reason?, payload?}`
 * - GitHub's `repository_dispatch`: `{event_type, client_payload: {<native fields>}}`, so a workflow
 *   that used to call GitHub only changes URL and credentials.
 *
 * Every problem is reported with its field path; unknown fields are errors, not ignored, so a typo
 * never silently deploys something else.
 */
import { WORKLOAD_KINDS, type ContainerImage, type TargetRef, type WorkloadKind } from '../api/types.js';
import { HttpError, type FieldIssue } from './http-error.js';

/** A parsed image reference (from the policy module's parser). */
export interface ParsedImage {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
  /** The fully qualified reference (`acme/web:2` -> `docker.io/acme/web:2`): what is recorded. */
  normalized: string;
}

/** Parses an image reference, throwing an Error whose message says what is wrong. */
export type ImageReferenceParser = (reference: string) => ParsedImage;

/** A validated dispatch. */
export interface DispatchInput {
  namespace: string;
  target: TargetRef;
  images: ContainerImage[];
  /** Parsed form of each image, same order as `images`. */
  parsedImages: ParsedImage[];
  environment?: string;
  reason?: string;
  payload?: Record<string, unknown>;
}

const NATIVE_FIELDS = [
  'namespace',
  'target',
  'image',
  'images',
  'container',
  'environment',
  'reason',
  'payload',
];
const DISPATCH_FIELDS = ['event_type', 'client_payload'];
const TARGET_FIELDS = ['kind', 'name'];
const IMAGE_FIELDS = ['container', 'image'];

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/**
 * Control characters: never useful in names or reasons, sometimes used to forge log lines. C0 and
 * C1 controls, and invisible formatting (zero-width, bidi overrides and isolates, BOM) that would
 * make a logged or displayed value read differently from what it is.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

export const LIMITS = {
  images: 20,
  environment: 255,
  reason: 1024,
  eventType: 100,
  payloadBytes: 16 * 1024,
  imageReference: 512,
} as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Issues {
  readonly list: FieldIssue[] = [];
  add(field: string, message: string): void {
    this.list.push({ field, message });
  }
  unknownFields(value: Record<string, unknown>, allowed: readonly string[], prefix: string): void {
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) this.add(prefix + key, `unknown field '${key}'`);
    }
  }
}

function checkLabel(issues: Issues, field: string, value: unknown, what: string): value is string {
  if (typeof value !== 'string' || value === '') {
    issues.add(field, `${what} is required and must be a string`);
    return false;
  }
  if (value.length > 63 || !DNS_LABEL.test(value)) {
    issues.add(
      field,
      `${what} must be a DNS-1123 label (lower-case letters, digits and '-', at most 63 characters)`,
    );
    return false;
  }
  return true;
}

function checkText(issues: Issues, field: string, value: unknown, max: number): value is string | undefined {
  if (value === undefined) return true;
  if (typeof value !== 'string') {
    issues.add(field, 'must be a string');
    return false;
  }
  if (value.length > max) {
    issues.add(field, `must be at most ${max} characters`);
    return false;
  }
  if (CONTROL.test(value)) {
    issues.add(field, 'must not contain control characters');
    return false;
  }
  return true;
}

function parseTarget(issues: Issues, value: unknown, field: string): TargetRef | undefined {
  let kind: unknown = 'Deployment';
  let name: unknown;
  if (typeof value === 'string') {
    // `Kind/name` or just `name` (a Deployment).
    const slash = value.indexOf('/');
    if (slash >= 0) {
      kind = value.slice(0, slash);
      name = value.slice(slash + 1);
    } else {
      name = value;
    }
  } else if (isObject(value)) {
    issues.unknownFields(value, TARGET_FIELDS, `${field}.`);
    kind = value.kind ?? 'Deployment';
    name = value.name;
  } else {
    issues.add(field, "target is required: 'Kind/name', 'name' or {kind, name}");
    return undefined;
  }
  let ok = true;
  if (typeof kind !== 'string' || !WORKLOAD_KINDS.includes(kind as WorkloadKind)) {
    issues.add(`${field}.kind`, `kind must be one of ${WORKLOAD_KINDS.join(', ')}`);
    ok = false;
  }
  if (typeof name !== 'string' || name === '' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    issues.add(`${field}.name`, 'name must be a DNS-1123 subdomain (lower-case letters, digits, - and .)');
    ok = false;
  }
  return ok ? { kind: kind as WorkloadKind, name: name as string } : undefined;
}

function parseImage(
  issues: Issues,
  field: string,
  value: unknown,
  parse: ImageReferenceParser,
): ParsedImage | undefined {
  if (typeof value !== 'string' || value === '') {
    issues.add(field, 'image reference is required and must be a string');
    return undefined;
  }
  if (value.length > LIMITS.imageReference) {
    issues.add(field, `image reference must be at most ${LIMITS.imageReference} characters`);
    return undefined;
  }
  try {
    return parse(value);
  } catch (error) {
    issues.add(field, `invalid image reference: ${(error as Error).message}`);
    return undefined;
  }
}

/** Validate a parsed JSON body; throws HttpError 400 listing every problem. */
export function parseDispatchBody(body: unknown, parseImageReference: ImageReferenceParser): DispatchInput {
  const issues = new Issues();
  if (!isObject(body)) throw new HttpError(400, 'invalid_request', 'request body must be a JSON object');

  let fields: Record<string, unknown> = body;
  let prefix = '';
  let eventType: string | undefined;
  if ('event_type' in body || 'client_payload' in body) {
    issues.unknownFields(body, DISPATCH_FIELDS, '');
    if (typeof body.event_type !== 'string' || body.event_type === '') {
      issues.add('event_type', 'event_type is required and must be a string');
    } else if (checkText(issues, 'event_type', body.event_type, LIMITS.eventType)) {
      eventType = body.event_type;
    }
    if (!isObject(body.client_payload)) {
      issues.add('client_payload', 'client_payload is required and must be an object');
      throw invalid(issues);
    }
    fields = body.client_payload;
    prefix = 'client_payload.';
  }
  issues.unknownFields(fields, NATIVE_FIELDS, prefix);

  const namespace = fields.namespace;
  checkLabel(issues, `${prefix}namespace`, namespace, 'namespace');
  const target = parseTarget(issues, fields.target, `${prefix}target`);

  const images: ContainerImage[] = [];
  const parsedImages: ParsedImage[] = [];
  const hasImage = fields.image !== undefined;
  const hasImages = fields.images !== undefined;
  if (hasImage === hasImages) {
    issues.add(`${prefix}image`, "exactly one of 'image' and 'images' is required");
  } else if (hasImage) {
    // A single image sets the container named `container`, or the one named like the target.
    const container = fields.container ?? target?.name;
    if (checkLabel(issues, `${prefix}container`, container, 'container name')) {
      const parsed = parseImage(issues, `${prefix}image`, fields.image, parseImageReference);
      if (parsed) {
        // The normalised reference is recorded: the one the policy matched, not a short name a
        // node's registry mirror or search list could resolve to another image.
        images.push({ container, image: parsed.normalized });
        parsedImages.push(parsed);
      }
    }
  } else {
    if (fields.container !== undefined)
      issues.add(`${prefix}container`, "'container' goes with 'image', not 'images'");
    let entries: Array<[string, unknown, unknown]> = [];
    if (Array.isArray(fields.images)) {
      entries = fields.images.map((item, index) => {
        const field = `${prefix}images[${index}]`;
        if (!isObject(item)) {
          issues.add(field, 'must be an object {container, image}');
          return [field, undefined, undefined];
        }
        issues.unknownFields(item, IMAGE_FIELDS, `${field}.`);
        return [field, item.container, item.image];
      });
    } else if (isObject(fields.images)) {
      // `{container: image}` map form.
      entries = Object.entries(fields.images).map(([container, image]) => [
        `${prefix}images.${container}`,
        container,
        image,
      ]);
    } else {
      issues.add(
        `${prefix}images`,
        'images must be a list of {container, image} or a map container -> image',
      );
    }
    if (entries.length === 0 && (Array.isArray(fields.images) || isObject(fields.images))) {
      issues.add(`${prefix}images`, 'at least one image is required');
    }
    if (entries.length > LIMITS.images) issues.add(`${prefix}images`, `at most ${LIMITS.images} images`);
    const seen = new Set<string>();
    for (const [field, container, image] of entries.slice(0, LIMITS.images)) {
      if (container === undefined && image === undefined) continue;
      const containerField = Array.isArray(fields.images) ? `${field}.container` : field;
      const imageField = Array.isArray(fields.images) ? `${field}.image` : field;
      if (!checkLabel(issues, containerField, container, 'container name')) continue;
      if (seen.has(container)) {
        issues.add(containerField, `container '${container}' is listed twice`);
        continue;
      }
      seen.add(container);
      const parsed = parseImage(issues, imageField, image, parseImageReference);
      if (parsed) {
        images.push({ container, image: parsed.normalized });
        parsedImages.push(parsed);
      }
    }
  }

  const environment = fields.environment;
  if (environment !== undefined && environment === '')
    issues.add(`${prefix}environment`, 'must not be empty');
  checkText(issues, `${prefix}environment`, environment, LIMITS.environment);
  const reason = fields.reason ?? eventType;
  checkText(issues, `${prefix}reason`, fields.reason, LIMITS.reason);
  const payload = fields.payload;
  if (payload !== undefined) {
    if (!isObject(payload)) issues.add(`${prefix}payload`, 'payload must be an object');
    else if (Buffer.byteLength(JSON.stringify(payload)) > LIMITS.payloadBytes) {
      issues.add(`${prefix}payload`, `payload must be at most ${LIMITS.payloadBytes} bytes of JSON`);
    }
  }

  if (issues.list.length > 0 || !target) throw invalid(issues);
  const input: DispatchInput = { namespace: namespace as string, target, images, parsedImages };
  if (typeof environment === 'string') input.environment = environment;
  if (typeof reason === 'string') input.reason = reason;
  if (isObject(payload)) input.payload = payload;
  return input;
}

function invalid(issues: Issues): HttpError {
  const first = issues.list[0];
  const summary = first ? `${first.field}: ${first.message}` : 'invalid request body';
  const more = issues.list.length > 1 ? ` (and ${issues.list.length - 1} more)` : '';
  return new HttpError(400, 'invalid_request', `${summary}${more}`, issues.list);
}
