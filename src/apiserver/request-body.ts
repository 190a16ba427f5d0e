/**
 * Reading and decoding request bodies: the 3 MiB limit, and whole objects (POST, PUT) in JSON,
 * YAML or the Kubernetes protobuf encoding (the built-in kinds kubectl's typed generators send).
 * Every failure is a Status: 413 too large, 400 malformed, 415 a media type or protobuf content
 * this server does not decode.
 */
import type { IncomingMessage } from 'node:http';
import { parse as parseYaml } from 'yaml';
import {
  decodeKubernetesProtobuf,
  PROTOBUF_MEDIA_TYPE,
  ProtobufError,
  UnsupportedProtobuf,
} from './protobuf/decode-kubernetes-protobuf.js';
import { ApiError, badRequest, unsupportedObjectMediaType } from './status-error.js';

/** Largest request body accepted (the real server's limit is 3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

const tooLarge = (): ApiError =>
  new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');

/** The request body, refused with 413 past {@link MAX_BODY_BYTES} (declared or sent). */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The media type of a Content-Type header, lower-cased, without parameters. */
export function mediaType(header: string | undefined): string {
  return (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

/** Parse a JSON body (400 when empty or malformed). */
export function parseJson(text: string): unknown {
  if (text.trim() === '') throw badRequest('the request body is empty');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw badRequest(`the object provided is unrecognized (must be JSON): ${(error as Error).message}`);
  }
}

/**
 * A whole object sent with POST or PUT, decoded by its Content-Type. Protobuf is accepted for the
 * main resource only (kubectl never sends it to a subresource).
 */
export function decodeObjectBody(
  contentType: string | undefined,
  body: Buffer,
  subresource?: string,
): unknown {
  const type = mediaType(contentType);
  switch (type) {
    case '':
    case 'application/json':
      return parseJson(body.toString('utf8'));
    case 'application/yaml': {
      const text = body.toString('utf8');
      if (text.trim() === '') throw badRequest('the request body is empty');
      try {
        return parseYaml(text, { maxAliasCount: 100 });
      } catch (error) {
        throw badRequest(`the object provided is unrecognized (must be YAML): ${(error as Error).message}`);
      }
    }
    case PROTOBUF_MEDIA_TYPE: {
      if (subresource !== undefined)
        throw unsupportedObjectMediaType(type, `protobuf bodies for the ${subresource} subresource`);
      try {
        return decodeKubernetesProtobuf(body);
      } catch (error) {
        if (error instanceof ProtobufError) throw badRequest(`invalid protobuf body: ${error.message}`);
        if (error instanceof UnsupportedProtobuf) throw unsupportedObjectMediaType(type, error.detail);
        throw error;
      }
    }
    default:
      throw unsupportedObjectMediaType(type);
  }
}

/**
 * Whether the client accepts a JSON answer (all this server writes): no Accept header, JSON with
 * any parameters, or a wildcard among the listed types.
 */
export function acceptsJson(accept: string | undefined): boolean {
  if (accept === undefined || accept.trim() === '') return true;
  return accept.split(',').some((entry) => {
    const type = mediaType(entry);
    return type === 'application/json' || type === '*/*' || type === 'application/*';
  });
}
