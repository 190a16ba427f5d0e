import fc from 'fast-check';
import { deriveRequestName } from '../../src/receiver/index.js';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

test('deterministic in issuer and jti, distinct across them', () => {
  const base = {
    issuer: 'https://token.actions.githubusercontent.com',
    repository: 'acme/Web_App',
    tokenId: 'j1',
  };
  expect(deriveRequestName(base)).toBe(deriveRequestName({ ...base }));
  expect(deriveRequestName(base)).toMatch(/^web-app-[a-z2-7]{20}$/);
  expect(deriveRequestName({ ...base, tokenId: 'j2' })).not.toBe(deriveRequestName(base));
  expect(deriveRequestName({ ...base, issuer: 'https://token.actions.githubusercontent.com/acme' })).not.toBe(
    deriveRequestName(base),
  );
  expect(() => deriveRequestName({ ...base, tokenId: undefined })).toThrow(/jti/);
});

test('always a DNS-1123 label of at most 63 characters, whatever the repository name', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), fc.string({ minLength: 1, maxLength: 100 }), (repo, jti) => {
      const name = deriveRequestName({ issuer: 'https://i', repository: `o/${repo}`, tokenId: jti });
      return name.length <= 63 && DNS_LABEL.test(name);
    }),
  );
  expect(deriveRequestName({ issuer: 'https://i', repository: 'o/---', tokenId: 'x' })).toMatch(/^deploy-/);
});
