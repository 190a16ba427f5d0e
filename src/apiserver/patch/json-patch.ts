/**
 * RFC 6902 JSON patch (add, remove, replace, move, copy, test) with RFC 6901 pointers. A malformed
 * operation list is a 400; an operation that cannot apply (missing path, failed test) is a 422,
 * as kube-apiserver answers.
 */
import { copyJson, isObject, setOwn, type JsonObject } from './json-value.js';
import { PatchError } from './patch-error.js';
import { isDeepStrictEqual } from 'node:util';

const MAX_OPERATIONS = 10_000;

interface Operation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: unknown;
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/'))
    throw new PatchError(`invalid JSON pointer "${pointer}": must start with "/"`, 422);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, allowEnd: boolean, pointer: string): number {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9][0-9]{0,8})$/.test(token))
    throw new PatchError(`invalid array index "${token}" in "${pointer}"`, 422);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length))
    throw new PatchError(`array index ${index} out of range in "${pointer}"`, 422);
  return index;
}

function parent(document: unknown, tokens: string[], pointer: string): unknown {
  let current = document;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(token, current.length, false, pointer)];
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token];
    else throw new PatchError(`path "${pointer}" does not exist`, 422);
  }
  return current;
}

function get(document: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return document;
  const container = parent(document, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(container)) return container[arrayIndex(last, container.length, false, pointer)];
  if (isObject(container) && Object.hasOwn(container, last)) return container[last];
  throw new PatchError(`path "${pointer}" does not exist`, 422);
}

function add(document: unknown, pointer: string, value: unknown): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return copyJson(value);
  const container = parent(document, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(container))
    container.splice(arrayIndex(last, container.length, true, pointer), 0, copyJson(value));
  else if (isObject(container)) setOwn(container, last, copyJson(value));
  else throw new PatchError(`path "${pointer}" does not exist`, 422);
  return document;
}

function remove(document: unknown, pointer: string): unknown {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw new PatchError('cannot remove the whole document', 422);
  const container = parent(document, tokens, pointer);
  const last = tokens[tokens.length - 1] as string;
  if (Array.isArray(container)) container.splice(arrayIndex(last, container.length, false, pointer), 1);
  else if (isObject(container) && Object.hasOwn(container, last)) delete (container as JsonObject)[last];
  else throw new PatchError(`path "${pointer}" does not exist`, 422);
  return document;
}

function validate(operations: unknown): Operation[] {
  if (!Array.isArray(operations)) throw new PatchError('a JSON patch must be an array of operations');
  if (operations.length > MAX_OPERATIONS)
    throw new PatchError(`a JSON patch may have at most ${MAX_OPERATIONS} operations`);
  return operations.map((operation, index) => {
    if (!isObject(operation)) throw new PatchError(`operation ${index} is not an object`);
    const { op, path, from } = operation;
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(op as string)) {
      throw new PatchError(`operation ${index}: unknown op "${String(op)}"`);
    }
    if (typeof path !== 'string') throw new PatchError(`operation ${index}: "path" must be a string`);
    if ((op === 'move' || op === 'copy') && typeof from !== 'string')
      throw new PatchError(`operation ${index}: "from" must be a string`);
    if ((op === 'add' || op === 'replace' || op === 'test') && !Object.hasOwn(operation, 'value')) {
      throw new PatchError(`operation ${index}: "value" is required`);
    }
    return operation as unknown as Operation;
  });
}

/** Apply a JSON patch; the inputs are not modified. */
export function applyJsonPatch(original: unknown, operations: unknown): unknown {
  let document = copyJson(original);
  for (const operation of validate(operations)) {
    switch (operation.op) {
      case 'add':
        document = add(document, operation.path, operation.value);
        break;
      case 'remove':
        document = remove(document, operation.path);
        break;
      case 'replace':
        get(document, operation.path);
        document = add(remove(document, operation.path), operation.path, operation.value);
        break;
      case 'move': {
        const from = operation.from as string;
        if (operation.path.startsWith(`${from}/`))
          throw new PatchError(`cannot move "${from}" into itself`, 422);
        const value = get(document, from);
        document = add(remove(document, from), operation.path, value);
        break;
      }
      case 'copy':
        document = add(document, operation.path, get(document, operation.from as string));
        break;
      case 'test':
        if (!isDeepStrictEqual(get(document, operation.path), operation.value)) {
          throw new PatchError(
            `test operation failed: "${operation.path}" does not equal the given value`,
            422,
          );
        }
        break;
    }
  }
  return document;
}
