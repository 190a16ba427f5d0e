/**
 * The HTTP front end of the embedded API server: URL and verb routing as kube-apiserver does it,
 * content negotiation (JSON, Table, YAML apply patches), streaming watches, request size limits,
 * Status error bodies, and the fault-injection hooks.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../observability/logger.js';
import {
  coreVersions,
  group,
  groupList,
  openApiDocument,
  openApiIndex,
  resourceList,
  SERVER_VERSION,
} from './discovery.js';
import type { FaultInjector, Verb } from './faults/fault-injector.js';
import type { StoreEvent } from './object-store.js';
import type { ResourceDefinition, ResourceRegistry } from './resource-registry.js';
import type { PatchContentType, ResourceService, Scope, WriteOptions } from './resource-service.js';
import {
  ApiError,
  badRequest,
  gone,
  internalError,
  invalid,
  methodNotAllowed,
  notAcceptable,
  unsupportedMediaType,
} from './status-error.js';
import { acceptsJson, decodeObjectBody, mediaType, readBody } from './request-body.js';
import { toTable, type IncludeObject } from './table.js';
import { answerReview, isReview } from './admission/reviews.js';
import { userFromHeaders, type UserInfo } from './admission/user-info.js';

export interface HttpHandlerDeps {
  registry: ResourceRegistry;
  service: ResourceService;
  faults: FaultInjector;
  logger?: Logger;
  /** Open watch responses, so that close() can end them. */
  watches: Set<ServerResponse>;
}

interface ParsedPath {
  group: string;
  version: string;
  namespace?: string;
  plural: string;
  name?: string;
  subresource?: string;
  legacyWatch: boolean;
}

function send(
  response: ServerResponse,
  code: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(code, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: unknown, logger?: Logger): void {
  const apiError =
    error instanceof ApiError ? error : internalError((error as Error)?.message ?? String(error));
  if (!(error instanceof ApiError)) logger?.error({ err: error }, 'embedded API server: unexpected error');
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const headers: Record<string, string> = {};
  if (apiError.details.retryAfterSeconds !== undefined)
    headers['Retry-After'] = String(apiError.details.retryAfterSeconds);
  send(response, apiError.code, apiError.toStatus(), headers);
}

/** Split `/api/v1/...` or `/apis/g/v/...` into its parts; undefined for non-resource paths. */
function parsePath(pathname: string): ParsedPath | 'groupVersion' | undefined {
  const parts = pathname.split('/').filter(Boolean).map(decodeURIComponent);
  let groupName: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 2) {
    groupName = '';
    version = parts[1] as string;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 3) {
    groupName = parts[1] as string;
    version = parts[2] as string;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  if (rest.length === 0) return 'groupVersion';
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  if (rest[0] === 'namespaces' && rest.length >= 3 && !['status', 'finalize'].includes(rest[2] as string)) {
    return {
      group: groupName,
      version,
      namespace: rest[1],
      plural: rest[2] as string,
      name: rest[3],
      subresource: rest[4],
      legacyWatch,
    };
  }
  return {
    group: groupName,
    version,
    plural: rest[0] as string,
    name: rest[1],
    subresource: rest[2],
    legacyWatch,
  };
}

function verbOf(method: string, path: ParsedPath, watch: boolean): Verb {
  switch (method) {
    case 'GET':
      return watch ? 'watch' : path.name ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      throw methodNotAllowed(method);
  }
}

function patchTypeOf(contentType: string): PatchContentType {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  switch (type) {
    case 'application/merge-patch+json':
      return 'merge';
    case 'application/json-patch+json':
      return 'json';
    case 'application/strategic-merge-patch+json':
      return 'strategic';
    case 'application/apply-patch+yaml':
    case 'application/apply-patch+json':
      return 'apply';
    default:
      throw unsupportedMediaType(contentType || '(none)');
  }
}

function wantsTable(accept: string | undefined): boolean {
  return (accept ?? '').split(',')[0]?.includes('as=Table') ?? false;
}

/**
 * The write's options. Without `fieldManager` the manager is the user agent's product (the part
 * before the first `/`, at most 128 characters), as kube-apiserver derives it.
 */
function writeOptions(query: URLSearchParams, user: UserInfo, userAgent?: string): WriteOptions {
  const validation = query.get('fieldValidation');
  if (validation && !['Strict', 'Warn', 'Ignore'].includes(validation)) {
    throw badRequest(`fieldValidation "${validation}" is not supported: must be one of Strict, Warn, Ignore`);
  }
  const dryRun = query.getAll('dryRun');
  if (dryRun.some((value) => value !== 'All')) throw badRequest('dryRun must be "All"');
  const force = query.get('force');
  return {
    dryRun: dryRun.length > 0,
    fieldManager: query.get('fieldManager') ?? undefined,
    userAgentManager: userAgent?.split('/')[0]?.slice(0, 128) || undefined,
    fieldValidation: (validation as WriteOptions['fieldValidation']) ?? undefined,
    force: force === 'true',
    user,
  };
}

/** Make the request listener of the embedded API server. */
export function createHttpHandler(
  deps: HttpHandlerDeps,
): (request: IncomingMessage, response: ServerResponse) => void {
  const { registry, service, faults, logger } = deps;

  async function handleNonResource(pathname: string, response: ServerResponse): Promise<boolean> {
    if (pathname === '/version') return (send(response, 200, SERVER_VERSION), true);
    if (pathname === '/healthz' || pathname === '/readyz' || pathname === '/livez') {
      response.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok');
      return true;
    }
    if (pathname === '/api') return (send(response, 200, coreVersions()), true);
    if (pathname === '/apis') return (send(response, 200, groupList(registry)), true);
    if (pathname === '/openapi/v3') return (send(response, 200, openApiIndex(registry)), true);
    if (pathname.startsWith('/openapi/v3/')) {
      const parts = pathname.slice('/openapi/v3/'.length).split('/');
      const document =
        parts[0] === 'api'
          ? openApiDocument(registry, '', parts[1] ?? '')
          : openApiDocument(registry, parts[1] ?? '', parts[2] ?? '');
      if (!document) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      send(response, 200, document, { 'Cache-Control': 'no-cache' });
      return true;
    }
    if (pathname === '/openapi/v2') {
      throw new ApiError(404, 'NotFound', 'the embedded API server publishes OpenAPI v3 only');
    }
    const parts = pathname.split('/').filter(Boolean);
    if (parts[0] === 'apis' && parts.length === 2) {
      const found = group(registry, parts[1] as string);
      if (!found) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      send(response, 200, found);
      return true;
    }
    return false;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const method = request.method ?? 'GET';
    // Who the request is (impersonation headers are checked on every request, reads included).
    const user = userFromHeaders(request.headersDistinct);
    const latency = faults.latency();
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));
    if (await handleNonResource(url.pathname, response)) return;
    const path = parsePath(url.pathname);
    if (path === undefined)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (path === 'groupVersion') {
      const parts = url.pathname.split('/').filter(Boolean);
      const list =
        parts[0] === 'api'
          ? resourceList(registry, '', parts[1] as string)
          : resourceList(registry, parts[1] as string, parts[2] as string);
      if (!list) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return send(response, 200, list);
    }
    const resource = registry.find(path.group, path.version, path.plural);
    if (!resource) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (path.namespace !== undefined && !resource.namespaced)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (resource.kind === 'Pod' && !resource.crd && path.subresource && POD_RUNTIME.has(path.subresource)) {
      // No kubelet, no containers: answer at once (kubectl would otherwise wait for a running pod).
      service.get({ resource, namespace: path.namespace, name: path.name });
      throw badRequest(
        `pod "${path.name}" has no running containers: the playground's embedded API server simulates pods (there is no kubelet or container runtime), so there are no logs, exec, attach or port-forward; see docs/embedded-api-server.md`,
      );
    }
    const subresource = servedSubresource(resource, path.subresource);
    if (path.subresource !== undefined && subresource === undefined) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const query = url.searchParams;
    const watch = path.legacyWatch || query.get('watch') === 'true' || query.get('watch') === '1';
    const verb = verbOf(method, path, watch);
    // Every answer is JSON: a client that accepts no JSON (protobuf or YAML only) gets 406, as from
    // a real server asked for a type it cannot produce. kubectl always lists JSON as well.
    if (!acceptsJson(request.headers.accept)) throw notAcceptable();
    if (subresource !== undefined && !['get', 'update', 'patch'].includes(verb))
      throw methodNotAllowed(method);
    if (!resource.verbs.includes(verb)) throw methodNotAllowed(method);
    const injected = faults.errorFor(verb, resource.plural);
    if (injected !== undefined) throw injectedError(injected);
    const scope: Scope = {
      resource,
      namespace: resource.namespaced ? path.namespace : undefined,
      name: path.name,
      subresource,
    };
    const table = wantsTable(request.headers.accept);
    const includeObject = (query.get('includeObject') as IncludeObject | null) ?? 'Metadata';
    const selectors = {
      labelSelector: query.get('labelSelector') ?? undefined,
      fieldSelector: query.get('fieldSelector') ?? undefined,
    };
    switch (verb) {
      case 'get': {
        const object = service.get(scope);
        // A Scale prints with the default columns (name, age), not its parent's.
        const printed = subresource === 'scale' ? { ...resource, kind: 'Scale' } : resource;
        return send(response, 200, table ? toTable(printed, [object], { includeObject }) : object);
      }
      case 'list': {
        const limit = Number(query.get('limit') ?? 0);
        const list = service.list(scope, {
          ...selectors,
          limit: Number.isSafeInteger(limit) ? limit : 0,
          continue: query.get('continue') ?? undefined,
          resourceVersion: query.get('resourceVersion') ?? undefined,
        });
        const metadata = {
          // A custom resource list (unstructured) always carries continue, "" on the last page.
          ...(list.continue ? { continue: list.continue } : resource.crd ? { continue: '' } : {}),
          resourceVersion: list.resourceVersion,
          ...(list.remainingItemCount !== undefined ? { remainingItemCount: list.remainingItemCount } : {}),
        };
        if (table)
          return send(response, 200, { ...toTable(resource, list.items, { includeObject }), metadata });
        return send(response, 200, {
          kind: resource.listKind,
          apiVersion: resource.group ? `${resource.group}/${resource.version}` : resource.version,
          metadata,
          items: list.items,
        });
      }
      case 'watch':
        return startWatch(
          request,
          response,
          scope,
          { ...selectors, resourceVersion: query.get('resourceVersion') ?? undefined },
          query,
          table,
          includeObject,
        );
      case 'create': {
        if (isReview(resource) && isProtobuf(request)) {
          await readBody(request);
          return send(response, 201, answerReview(resource, undefined, user));
        }
        const body = decodeObjectBody(request.headers['content-type'], await readBody(request), subresource);
        if (isReview(resource)) {
          const answer = answerReview(resource, body, userFromHeaders(request.headersDistinct));
          return send(response, 201, answer);
        }
        const result = service.create(scope, body, writeOptions(query, user, request.headers['user-agent']));
        return send(response, 201, result.object, warningHeaders(result.warnings));
      }
      case 'update': {
        const body = decodeObjectBody(request.headers['content-type'], await readBody(request), subresource);
        const result = service.update(scope, body, writeOptions(query, user, request.headers['user-agent']));
        return send(response, result.created ? 201 : 200, result.object, warningHeaders(result.warnings));
      }
      case 'patch': {
        const patchType = patchTypeOf(request.headers['content-type'] ?? '');
        const text = (await readBody(request)).toString('utf8');
        const result = service.patch(
          scope,
          patchType,
          text,
          writeOptions(query, user, request.headers['user-agent']),
        );
        return send(response, result.created ? 201 : 200, result.object, warningHeaders(result.warnings));
      }
      case 'delete': {
        const body = await readBody(request);
        const text = body.toString('utf8');
        const options = text.trim()
          ? (decodeObjectBody(request.headers['content-type'], body) as Record<string, unknown>)
          : {};
        const preconditions = (options.preconditions ?? {}) as { uid?: string; resourceVersion?: string };
        const propagation =
          query.get('propagationPolicy') ?? (options.propagationPolicy as string | undefined);
        if (propagation !== undefined && !['Foreground', 'Background', 'Orphan'].includes(propagation))
          throw invalid({ name: '', group: 'meta.k8s.io', plural: 'deleteoptions', kind: 'DeleteOptions' }, [
            {
              reason: 'FieldValueNotSupported',
              message: `Unsupported value: ${JSON.stringify(propagation)}: supported values: "Foreground", "Background", "Orphan", "nil"`,
              field: 'propagationPolicy',
            },
          ]);
        const dryRun =
          query.getAll('dryRun').includes('All') ||
          (Array.isArray(options.dryRun) && options.dryRun.includes('All'));
        const object = service.delete(scope, {
          dryRun,
          preconditions,
          user,
        });
        // An object that finalizers keep is answered as it is now; one that is gone (or would be,
        // in a dry run) with a success Status naming it, as kube-apiserver answers.
        if ((object.metadata as Record<string, unknown>).deletionTimestamp)
          return send(response, 200, object);
        return send(response, 200, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Success',
          details: {
            name: object.metadata.name,
            ...(resource.group ? { group: resource.group } : {}),
            kind: resource.plural,
            uid: object.metadata.uid,
          },
        });
      }
    }
  }

  function startWatch(
    request: IncomingMessage,
    response: ServerResponse,
    scope: Scope,
    options: { labelSelector?: string; fieldSelector?: string; resourceVersion?: string },
    query: URLSearchParams,
    table: boolean,
    includeObject: IncludeObject,
  ): void {
    const resumes =
      options.resourceVersion !== undefined &&
      options.resourceVersion !== '' &&
      options.resourceVersion !== '0';
    let events = 0;
    let columnsSent = false;
    let closed = false;
    const limits = faults.watchLimits();
    const write = (type: string, object: unknown): void => {
      if (closed) return;
      response.write(`${JSON.stringify({ type, object })}\n`);
    };
    const close = (): void => {
      if (closed) return;
      closed = true;
      subscription?.unsubscribe();
      clearTimeout(timeout);
      clearTimeout(cutTimer);
      clearInterval(bookmarkTimer);
      deps.watches.delete(response);
      response.end();
    };
    response.writeHead(200, {
      'Content-Type': 'application/json',
      'Transfer-Encoding': 'chunked',
      'Cache-Control': 'no-cache',
    });
    // Send the headers now: clients (client-go) wait for them before they consider the watch open.
    response.flushHeaders();
    deps.watches.add(response);
    const deliver = (event: StoreEvent): void => {
      if (closed) return;
      if (table) {
        write(
          event.type,
          toTable(scope.resource, [event.object], {
            includeObject,
            includeColumns: !columnsSent,
            resourceVersion: String(event.revision),
          }),
        );
        columnsSent = true;
      } else {
        write(event.type, event.object);
      }
      events++;
      if (limits.afterEvents !== undefined && events >= limits.afterEvents) {
        faults.recordCut();
        close();
      }
    };
    let subscription: { unsubscribe: () => void } | undefined;
    const timeoutSeconds = Number(query.get('timeoutSeconds') ?? 0);
    const timeout = timeoutSeconds > 0 ? setTimeout(close, timeoutSeconds * 1000) : undefined;
    const cutTimer =
      limits.afterMs !== undefined
        ? setTimeout(() => {
            faults.recordCut();
            close();
          }, limits.afterMs)
        : undefined;
    const bookmarkTimer =
      query.get('allowWatchBookmarks') === 'true'
        ? setInterval(() => {
            const rv = String(service.currentRevision());
            write('BOOKMARK', {
              kind: scope.resource.kind,
              apiVersion: scope.resource.group
                ? `${scope.resource.group}/${scope.resource.version}`
                : scope.resource.version,
              metadata: { resourceVersion: rv },
            });
          }, 5000)
        : undefined;
    request.on('close', close);
    try {
      if (resumes && faults.forceGone()) throw gone(options.resourceVersion as string);
      // WatchList (sendInitialEvents=true): the current state as ADDED events, then a bookmark
      // annotated k8s.io/initial-events-end, which clients such as kubectl 1.33 wait for.
      const sendInitialEvents = query.get('sendInitialEvents') === 'true';
      const result = service.watch(
        scope,
        sendInitialEvents ? { ...options, resourceVersion: '' } : options,
        deliver,
      );
      subscription = result;
      for (const event of result.backlog) deliver(event);
      if (sendInitialEvents) {
        write('BOOKMARK', {
          kind: scope.resource.kind,
          apiVersion: scope.resource.group
            ? `${scope.resource.group}/${scope.resource.version}`
            : scope.resource.version,
          metadata: {
            resourceVersion: String(service.currentRevision()),
            annotations: { 'k8s.io/initial-events-end': 'true' },
          },
        });
      }
    } catch (error) {
      // Like the real server: the watch answers 200 and then one ERROR event carrying the Status.
      const apiError = error instanceof ApiError ? error : internalError(String(error));
      write('ERROR', apiError.toStatus());
      close();
    }
  }

  return (request, response) => {
    handle(request, response).catch((error: unknown) => sendError(response, error, logger));
  };
}

/** Pod subresources served by a kubelet in a real cluster. */
const POD_RUNTIME = new Set(['log', 'exec', 'attach', 'portforward']);

/** The subresource a path names, when this resource serves it. */
function servedSubresource(
  resource: ResourceDefinition,
  name: string | undefined,
): Scope['subresource'] | undefined {
  if (name === 'status' && resource.hasStatus) return 'status';
  if (name === 'scale' && resource.hasScale) return 'scale';
  return undefined;
}

function isProtobuf(request: IncomingMessage): boolean {
  return mediaType(request.headers['content-type']) === 'application/vnd.kubernetes.protobuf';
}

function warningHeaders(warnings: string[]): Record<string, string> {
  if (warnings.length === 0) return {};
  return { Warning: warnings.map((warning) => `299 - ${JSON.stringify(warning)}`).join(', ') };
}

function injectedError(code: number): ApiError {
  switch (code) {
    case 409:
      return new ApiError(
        409,
        'Conflict',
        'injected fault: the object has been modified; please apply your changes to the latest version and try again',
      );
    case 429:
      return new ApiError(429, 'TooManyRequests', 'injected fault: too many requests', {
        retryAfterSeconds: 1,
      });
    case 503:
      return new ApiError(503, 'ServiceUnavailable', 'injected fault: service unavailable');
    case 504:
      return new ApiError(504, 'Timeout', 'injected fault: timeout');
    default:
      return new ApiError(code, 'InternalError', `Internal error occurred: injected fault`);
  }
}
