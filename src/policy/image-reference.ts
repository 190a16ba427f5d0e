/**
 * Container image references, parsed by the grammar of the distribution reference library that
 * Docker, containerd and Kubernetes use: `[registry[:port]/]path[:tag][@digest]`, with
 * `docker.io` and `library/` as defaults for short names.
 */
import { isIPv6 } from 'node:net';

/** A parsed image reference. */
export interface ImageReference {
  /** Registry host (and port), e.g. `ghcr.io`; `docker.io` when omitted. */
  registry: string;
  /** Path below the registry, e.g. `acme/web` (`library/nginx` for `nginx`). */
  path: string;
  /** `registry/path`: what policies allow. */
  repository: string;
  tag?: string;
  digest?: string;
  /** The fully qualified reference. */
  normalized: string;
}

/** A reference that does not follow the grammar; the message says what is wrong. */
export class ImageReferenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageReferenceError';
  }
}

const MAX_LENGTH = 512;
const MAX_NAME_LENGTH = 255;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

/** A registry host: DNS name or `[IPv6]`, with an optional port. */
function isDomain(candidate: string): boolean {
  const bracketed = /^\[([0-9a-fA-F:.]+)\](?::([0-9]{1,5}))?$/.exec(candidate);
  if (bracketed) return isIPv6(bracketed[1] as string);
  // Brackets anywhere else (with any content) are not a host.
  if (candidate.includes('[') || candidate.includes(']')) return false;
  const [host, port, ...rest] = candidate.split(':');
  if (rest.length > 0 || host === undefined || host === '') return false;
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) return false;
  return host.split('.').every((part) => DOMAIN_COMPONENT.test(part));
}

/** Parse a reference; throws ImageReferenceError. */
export function parseImageReference(reference: string): ImageReference {
  if (typeof reference !== 'string' || reference.length === 0)
    throw new ImageReferenceError('image reference is empty');
  if (reference.length > MAX_LENGTH)
    throw new ImageReferenceError(`image reference is longer than ${MAX_LENGTH} characters`);
  // eslint-disable-next-line no-control-regex -- rejecting control characters is the point
  if (/[\s\u0000-\u001f\u007f]/.test(reference))
    throw new ImageReferenceError('image reference contains whitespace or control characters');
  let rest = reference;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    const match = DIGEST.exec(digest);
    if (!match) throw new ImageReferenceError(`invalid digest "${digest}"`);
    const [, algorithm, hex] = match as unknown as [string, string, string];
    // Only registered OCI digest algorithms: anything else (md5, ...) could not pin content safely.
    if (!['sha256', 'sha384', 'sha512'].includes(algorithm))
      throw new ImageReferenceError(`unsupported digest algorithm "${algorithm}"`);
    if (algorithm === 'sha384' && !/^[a-f0-9]{96}$/.test(hex))
      throw new ImageReferenceError('a sha384 digest must be 96 lower-case hex characters');
    if (algorithm === 'sha256' && !/^[a-f0-9]{64}$/.test(hex))
      throw new ImageReferenceError('a sha256 digest must be 64 lower-case hex characters');
    if (algorithm === 'sha512' && !/^[a-f0-9]{128}$/.test(hex))
      throw new ImageReferenceError('a sha512 digest must be 128 lower-case hex characters');
    if (hex.length < 32) throw new ImageReferenceError(`digest "${digest}" is too short`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag))
      throw new ImageReferenceError(
        `invalid tag "${tag}": letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'`,
      );
  }
  if (rest === '') throw new ImageReferenceError('image reference has no repository name');
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  let registry = 'docker.io';
  let path = rest;
  if (
    slash >= 0 &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase())
  ) {
    if (!isDomain(first)) throw new ImageReferenceError(`invalid registry "${first}"`);
    registry = first;
    path = rest.slice(slash + 1);
  }
  if (registry === 'index.docker.io') registry = 'docker.io';
  const components = path.split('/');
  for (const component of components) {
    if (!PATH_COMPONENT.test(component)) {
      throw new ImageReferenceError(
        component === ''
          ? 'image repository has an empty path component'
          : `invalid repository path component "${component}": lower-case letters, digits and separators (., _, __, -) only`,
      );
    }
  }
  if (registry === 'docker.io' && components.length === 1) path = `library/${path}`;
  const repository = `${registry}/${path}`;
  if (repository.length > MAX_NAME_LENGTH)
    throw new ImageReferenceError(`repository name is longer than ${MAX_NAME_LENGTH} characters`);
  const normalized = `${repository}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
  // The limit holds for the normalized form too, so that whatever is accepted parses again the same.
  if (normalized.length > MAX_LENGTH)
    throw new ImageReferenceError(`image reference is longer than ${MAX_LENGTH} characters once normalized`);
  return { registry, path, repository, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}), normalized };
}
