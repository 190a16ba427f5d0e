import fc from 'fast-check';
import {
  applyJsonPatch,
  applyMergePatch,
  applyServerSideApply,
  applyStrategicMergePatch,
  PatchError,
} from '../../../src/apiserver/patch/index.js';

const deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', finalizers: ['a'] },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          { name: 'web', image: 'web:1', env: [{ name: 'A', value: '1' }] },
          { name: 'proxy', image: 'proxy:1' },
        ],
      },
    },
  },
};
const gvk = { group: 'apps', version: 'v1', kind: 'Deployment' };

describe('merge patch (RFC 7386)', () => {
  test('merges objects, replaces lists, null deletes; inputs untouched', () => {
    const before = structuredClone(deployment);
    const result = applyMergePatch(deployment, {
      spec: { replicas: null, template: { spec: { containers: [{ name: 'x', image: 'x' }] } } },
    }) as typeof deployment;
    expect(result.spec.replicas).toBeUndefined();
    expect(result.spec.template.spec.containers).toEqual([{ name: 'x', image: 'x' }]);
    expect(deployment).toEqual(before);
  });
  test('property: {} is the identity', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) =>
        expect(applyMergePatch(value, {})).toEqual(
          value && typeof value === 'object' && !Array.isArray(value) ? value : {},
        ),
      ),
    );
  });
});

describe('JSON patch (RFC 6902)', () => {
  test('all operations, with pointer escaping', () => {
    const result = applyJsonPatch({ a: { 'b/c': 1, 'd~e': 2 }, list: [1, 2] }, [
      { op: 'replace', path: '/a/b~1c', value: 3 },
      { op: 'remove', path: '/a/d~0e' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'add', path: '/list/0', value: 0 },
      { op: 'copy', from: '/list/0', path: '/zero' },
      { op: 'move', from: '/zero', path: '/moved' },
      { op: 'test', path: '/moved', value: 0 },
    ]);
    expect(result).toEqual({ a: { 'b/c': 3 }, list: [0, 1, 2, 3], moved: 0 });
  });
  test.each([
    [{ op: 'test', path: '/a', value: 2 }, 422, 'test operation failed'],
    [{ op: 'remove', path: '/missing' }, 422, 'does not exist'],
    [{ op: 'replace', path: '/list/9', value: 1 }, 422, 'out of range'],
    [{ op: 'jump', path: '/a' }, 400, 'unknown op'],
    [{ op: 'add', path: '/a' }, 400, '"value" is required'],
    [{ op: 'add', path: 'a', value: 1 }, 422, 'must start with "/"'],
  ])('%j fails with %i', (operation, code, message) => {
    const error = (() => {
      try {
        applyJsonPatch({ a: 1, list: [] }, [operation]);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(PatchError);
    expect((error as PatchError).code).toBe(code);
    expect((error as PatchError).message).toContain(message);
  });
  test('a non-array patch is a 400', () => {
    expect(() => applyJsonPatch({}, { op: 'add' })).toThrow('must be an array');
  });
});

describe('strategic merge patch', () => {
  test('containers merge by name, env by name; other containers untouched', () => {
    const result = applyStrategicMergePatch(
      deployment,
      {
        spec: {
          template: {
            spec: { containers: [{ name: 'web', image: 'web:2', env: [{ name: 'B', value: '2' }] }] },
          },
        },
      },
      gvk,
    ) as typeof deployment;
    expect(result.spec.template.spec.containers).toEqual([
      {
        name: 'web',
        image: 'web:2',
        env: [
          { name: 'A', value: '1' },
          { name: 'B', value: '2' },
        ],
      },
      { name: 'proxy', image: 'proxy:1' },
    ]);
  });
  test('directives: $patch delete and replace, $deleteFromPrimitiveList, $retainKeys', () => {
    const deleted = applyStrategicMergePatch(
      deployment,
      { spec: { template: { spec: { containers: [{ name: 'proxy', $patch: 'delete' }] } } } },
      gvk,
    ) as typeof deployment;
    expect(deleted.spec.template.spec.containers.map((c) => c.name)).toEqual(['web']);
    const replaced = applyStrategicMergePatch(
      deployment,
      { spec: { template: { spec: { $patch: 'replace', containers: [{ name: 'only', image: 'o' }] } } } },
      gvk,
    ) as typeof deployment;
    expect(replaced.spec.template.spec).toEqual({ containers: [{ name: 'only', image: 'o' }] });
    const finalizers = applyStrategicMergePatch(
      deployment,
      { metadata: { '$deleteFromPrimitiveList/finalizers': ['a'] } },
      gvk,
    ) as typeof deployment;
    expect(finalizers.metadata.finalizers).toEqual([]);
    const retained = applyStrategicMergePatch(
      { spec: { a: 1, b: 2 } },
      { spec: { $retainKeys: ['a'], a: 3 } },
      gvk,
    );
    expect(retained).toEqual({ spec: { a: 3 } });
  });
  test('unknown directives and hostile nesting are 400s', () => {
    expect(() => applyStrategicMergePatch({}, { $evil: 1 }, gvk)).toThrow(PatchError);
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 200; i++) deep = (deep.a = {}) as Record<string, unknown>;
    expect(() => applyStrategicMergePatch({}, root, gvk)).toThrow('nesting deeper than 100 levels');
  });
  test('__proto__ in a patch never pollutes prototypes', () => {
    const result = applyStrategicMergePatch(
      {},
      JSON.parse('{"__proto__":{"polluted":true},"spec":{"__proto__":{"x":1}}}'),
      gvk,
    ) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.hasOwn(result, '__proto__')).toBe(true);
  });
});

describe('server-side apply', () => {
  const now = '2026-11-22T00:00:00Z';
  test('records ownership, removes fields no longer applied, reports conflicts unless forced', () => {
    const first = applyServerSideApply(
      undefined,
      { metadata: { name: 'web' }, spec: { replicas: 2, paused: false } },
      { manager: 'alice', force: false, gvk, now },
    );
    expect(first.conflicts).toEqual([]);
    const managed = (
      first.object.metadata as { managedFields: Array<{ manager: string; fieldsV1: unknown }> }
    ).managedFields;
    expect(managed[0]).toMatchObject({
      manager: 'alice',
      operation: 'Apply',
      fieldsV1: { 'f:spec': { 'f:replicas': {}, 'f:paused': {} } },
    });
    const second = applyServerSideApply(
      first.object,
      { metadata: { name: 'web' }, spec: { replicas: 2 } },
      { manager: 'alice', force: false, gvk, now },
    );
    expect((second.object.spec as Record<string, unknown>).paused).toBeUndefined();
    const conflict = applyServerSideApply(
      second.object,
      { metadata: { name: 'web' }, spec: { replicas: 5 } },
      { manager: 'bob', force: false, gvk, now },
    );
    expect(conflict.conflicts).toEqual([{ field: '.spec.replicas', manager: 'alice' }]);
    const forced = applyServerSideApply(
      second.object,
      { metadata: { name: 'web' }, spec: { replicas: 5 } },
      { manager: 'bob', force: true, gvk, now },
    );
    expect(forced.conflicts).toEqual([]);
    expect((forced.object.spec as Record<string, unknown>).replicas).toBe(5);
  });
});
