/**
 * Kubernetes `Status` failures. Every error the embedded API server answers is one of these, with
 * the reason and code a real kube-apiserver uses for the same situation.
 */

/** One `details.causes` entry of a Status (a field-level problem). */
export interface StatusCause {
  /** Absent for causes that are not about a field (an admission policy's refusal). */
  reason?: string;
  message: string;
  field?: string;
}

/** An error that the server turns into a `kind: Status` response body. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details: {
      name?: string;
      group?: string;
      kind?: string;
      causes?: StatusCause[];
      retryAfterSeconds?: number;
    } = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The `Status` object a real API server returns for this error. */
  toStatus(): Record<string, unknown> {
    const details = Object.fromEntries(
      Object.entries(this.details).filter(([, value]) => value !== undefined),
    );
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(Object.keys(details).length > 0 ? { details } : {}),
      code: this.code,
    };
  }
}

interface Target {
  group: string;
  plural: string;
  kind?: string;
  name?: string;
}

function qualified(target: Target): string {
  return target.group ? `${target.plural}.${target.group}` : target.plural;
}

/** 404 `<plural>.<group> "<name>" not found`. */
export function notFound(target: Target): ApiError {
  return new ApiError(404, 'NotFound', `${qualified(target)} "${target.name ?? ''}" not found`, {
    name: target.name,
    group: target.group || undefined,
    kind: target.plural,
  });
}

/** 409 `<plural>.<group> "<name>" already exists`. */
export function alreadyExists(target: Target): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualified(target)} "${target.name ?? ''}" already exists`, {
    name: target.name,
    group: target.group || undefined,
    kind: target.plural,
  });
}

/** 409 Conflict on a stale resourceVersion, with the real server's wording. */
export function conflict(target: Target): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(target)} "${target.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`,
    { name: target.name, group: target.group || undefined, kind: target.plural },
  );
}

/** 422 Invalid with field causes: `<Kind>.<group> "<name>" is invalid: <causes>`. */
export function invalid(target: Target & { kind: string }, causes: StatusCause[]): ApiError {
  const kindQualified = target.group ? `${target.kind}.${target.group}` : target.kind;
  const summary = causes
    .map((cause) => (cause.field ? `${cause.field}: ${cause.message}` : cause.message))
    .join(', ');
  const list = causes.length > 1 ? `[${summary}]` : summary;
  return new ApiError(422, 'Invalid', `${kindQualified} "${target.name ?? ''}" is invalid: ${list}`, {
    // Options objects (DeleteOptions, PatchOptions) have no name: no details.name then.
    name: target.name || undefined,
    group: target.group || undefined,
    kind: target.kind,
    causes,
  });
}

/** 400 BadRequest. */
export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

/** 410 Gone for a watch or list from a resourceVersion older than the server keeps. */
export function gone(resourceVersion: string): ApiError {
  return new ApiError(410, 'Expired', `too old resource version: ${resourceVersion}`);
}

/** 405 MethodNotAllowed. */
export function methodNotAllowed(method: string): ApiError {
  return new ApiError(
    405,
    'MethodNotAllowed',
    `the server does not allow this method on the requested resource (${method})`,
  );
}

/** 415 UnsupportedMediaType. */
export function unsupportedMediaType(contentType: string): ApiError {
  return new ApiError(
    415,
    'UnsupportedMediaType',
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got ${contentType})`,
  );
}

/** Media types accepted for whole objects (POST and PUT). */
export const OBJECT_MEDIA_TYPES = [
  'application/json',
  'application/yaml',
  'application/vnd.kubernetes.protobuf',
];

/**
 * 415 for a POST or PUT body: the real server's wording and list, plus, when the embedded server
 * could not decode a body it understands in principle (`detail`), what to send instead.
 */
export function unsupportedObjectMediaType(contentType: string, detail?: string): ApiError {
  const base = `the body of the request was in an unknown format - accepted media types include: ${OBJECT_MEDIA_TYPES.join(', ')}`;
  return new ApiError(
    415,
    'UnsupportedMediaType',
    detail === undefined
      ? `${base} (got ${contentType})`
      : `${base}; the embedded API server cannot decode ${detail}: send the object as application/json instead (kubectl apply -f <file>, or kubectl create ... --dry-run=client -o yaml | kubectl apply -f -)`,
  );
}

/** 406 NotAcceptable: the client accepts no media type this server answers with (JSON only). */
export function notAcceptable(): ApiError {
  return new ApiError(406, 'NotAcceptable', 'only the following media types are accepted: application/json');
}

/** 500 InternalError; also used for injected faults. */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'InternalError', `Internal error occurred: ${message}`);
}
