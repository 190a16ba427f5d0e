/**
 * GitHub's OpenAPI description (`@octokit/openapi`, api.github.com) turned into request and
 * response validators, so the fake GitHub can refuse any request the real API would not accept and
 * prove that its own answers are what the real API documents.
 *
 * OpenAPI 3.0 is not JSON Schema: `nullable: true` is rewritten to a `null` alternative, and
 * `#/components/...` references point into the registered description.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv, type ValidateFunction } from 'ajv';

type Json = Record<string, unknown>;

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  schema?: Json;
}

/** One operation of the description, with its compiled validators. */
export interface Operation {
  method: string;
  template: string;
  operationId: string;
  pathParams: string[];
  match(path: string): Record<string, string> | undefined;
  /** Problems with the request, empty when it is valid. */
  validateRequest(pathParams: Record<string, string>, query: URLSearchParams, body: unknown): string[];
  /** Problems with an answer, empty when it is what the description documents for that status. */
  validateResponse(status: number, body: unknown): string[];
}

const SPEC_ID = 'github';

function rewrite(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewrite);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node as Json)) {
    if (key === '$ref' && typeof value === 'string' && value.startsWith('#/'))
      out.$ref = `${SPEC_ID}${value}`;
    else if (key !== 'nullable' && key !== 'example' && key !== 'examples') out[key] = rewrite(value);
  }
  if ((node as Json).nullable === true) return { anyOf: [out, { type: 'null' }] };
  return out;
}

/** Load and index the description once per process (13 MB of JSON). */
export class GitHubOpenApi {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  private readonly spec: Json;
  private readonly raw: Json;
  private readonly operations: Operation[] = [];
  private readonly cache = new Map<unknown, ValidateFunction>();

  constructor() {
    const require = createRequire(import.meta.url);
    const file = require.resolve('@octokit/openapi/generated/api.github.com.json');
    const raw = JSON.parse(readFileSync(file, 'utf8')) as Json;
    this.raw = raw;
    this.spec = { components: rewrite(raw.components) };
    this.ajv.addSchema(this.spec, SPEC_ID);
    const paths = raw.paths as Record<string, Record<string, Json>>;
    for (const [template, item] of Object.entries(paths)) {
      for (const [method, operation] of Object.entries(item)) {
        if (!['get', 'post', 'put', 'patch', 'delete'].includes(method)) continue;
        this.operations.push(this.index(method.toUpperCase(), template, operation));
      }
    }
  }

  /** The operation a request addresses, or undefined when GitHub has no such endpoint. */
  find(method: string, path: string): { operation: Operation; params: Record<string, string> } | undefined {
    let fallback: { operation: Operation; params: Record<string, string> } | undefined;
    for (const operation of this.operations) {
      if (operation.method !== method) continue;
      const params = operation.match(path);
      if (!params) continue;
      // Prefer literal segments over parameters (/app/installations vs /app/{x}).
      if (operation.pathParams.length === 0) return { operation, params };
      if (!fallback || operation.pathParams.length < fallback.operation.pathParams.length)
        fallback = { operation, params };
    }
    return fallback;
  }

  private validator(schema: unknown): ValidateFunction {
    let validate = this.cache.get(schema);
    if (!validate) {
      validate = this.ajv.compile(rewrite(schema) as Json);
      this.cache.set(schema, validate);
    }
    return validate;
  }

  private resolve<T>(node: T | { $ref: string }): T {
    const ref = (node as { $ref?: string }).$ref;
    if (!ref) return node as T;
    return ref
      .slice(2)
      .split('/')
      .reduce<unknown>((at, key) => (at as Json)[key], this.raw) as T;
  }

  private index(method: string, template: string, operation: Json): Operation {
    const pathParams = [...template.matchAll(/\{([^}]+)\}/g)].map((m) => m[1] as string);
    const pattern = new RegExp(
      `^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/]+)')}$`,
    );
    const parameters = ((operation.parameters as Array<Parameter | { $ref: string }>) ?? []).map((p) =>
      (p as { $ref?: string }).$ref
        ? this.componentParameter((p as { $ref: string }).$ref)
        : (p as Parameter),
    );
    const bodySchema = (operation.requestBody as Json | undefined)?.content as
      Record<string, { schema?: Json }> | undefined;
    const requestSchema = bodySchema?.['application/json']?.schema;
    const bodyRequired = (operation.requestBody as { required?: boolean } | undefined)?.required === true;
    const responses = (operation.responses ?? {}) as Record<string, Json>;
    const validator = (schema: unknown): ValidateFunction => this.validator(schema);
    const resolve = <T>(node: T | { $ref: string }): T => this.resolve<T>(node);
    return {
      method,
      template,
      operationId: String(operation.operationId),
      pathParams,
      match(path) {
        const found = pattern.exec(path);
        if (!found) return undefined;
        return Object.fromEntries(
          pathParams.map((name, i) => [name, decodeURIComponent(found[i + 1] as string)]),
        );
      },
      validateRequest(params, query, body) {
        const problems: string[] = [];
        const check = (
          where: string,
          name: string,
          value: string | undefined,
          parameter: Parameter,
        ): void => {
          if (value === undefined) {
            if (parameter.required) problems.push(`${where} parameter ${name} is required`);
            return;
          }
          const type = (parameter.schema?.type as string | undefined) ?? 'string';
          if (type === 'integer' && !/^-?\d+$/.test(value))
            problems.push(`${where} parameter ${name} must be an integer`);
          const allowed = parameter.schema?.enum as string[] | undefined;
          if (allowed && !allowed.includes(value))
            problems.push(`${where} parameter ${name} must be one of ${allowed.join(', ')}`);
        };
        for (const parameter of parameters) {
          if (parameter.in === 'path') check('path', parameter.name, params[parameter.name], parameter);
          if (parameter.in === 'query')
            check('query', parameter.name, query.get(parameter.name) ?? undefined, parameter);
        }
        const known = new Set(parameters.filter((p) => p.in === 'query').map((p) => p.name));
        for (const name of query.keys())
          if (!known.has(name)) problems.push(`unknown query parameter ${name}`);
        if (body === undefined) {
          if (bodyRequired) problems.push('a JSON body is required');
          return problems;
        }
        if (!requestSchema) {
          problems.push('this operation takes no body');
          return problems;
        }
        const validate = validator(requestSchema);
        if (!validate(body))
          for (const error of validate.errors ?? [])
            problems.push(`body${error.instancePath} ${error.message ?? ''}`.trim());
        // GitHub ignores unknown fields; a client sending one has a bug, so the fake refuses it.
        const properties = resolve<Json>(requestSchema).properties as Json | undefined;
        if (properties && body && typeof body === 'object' && !Array.isArray(body))
          for (const key of Object.keys(body))
            if (!(key in properties)) problems.push(`body has unknown field ${key}`);
        return problems;
      },
      validateResponse(status, body) {
        const response = responses[String(status)];
        if (!response) return [`status ${status} is not documented for ${method} ${template}`];
        const resolved = resolve<Json>(response);
        const schema = (resolved.content as Record<string, { schema?: Json }> | undefined)?.[
          'application/json'
        ]?.schema;
        if (!schema) return body === undefined || body === '' ? [] : [`status ${status} documents no body`];
        const validate = validator(schema);
        return validate(body)
          ? []
          : (validate.errors ?? []).map((e) =>
              `response ${status}${e.instancePath} ${e.message ?? ''}`.trim(),
            );
      },
    };
  }

  private componentParameter(ref: string): Parameter {
    return this.resolve<Parameter>({ $ref: ref } as unknown as Parameter);
  }
}

let shared: GitHubOpenApi | undefined;

/** The description, loaded once per test process. */
export function githubOpenApi(): GitHubOpenApi {
  shared ??= new GitHubOpenApi();
  return shared;
}
