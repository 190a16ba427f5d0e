/**
 * What a differential scenario is: data, a name and a sequence of steps, run the same way against
 * the embedded and the real API server, each time in a fresh namespace. Strings in a step may
 * contain `{ns}` (the scenario's namespace) and `$var` (a value an earlier step saved, such as a
 * raw resourceVersion or a continue token).
 */
import type { ListOptions, PatchType, ResourceType, WriteOptions } from '../../src/kube/kube-client.js';

interface StepCommon {
  /** Save values of the answer body (dotted paths) as variables for later steps. */
  save?: Record<string, string>;
  /**
   * Dotted paths left out of the comparison of this step's answer and read-back, because a
   * controller writes them at its own pace (for example a just created Deployment's status).
   */
  ignore?: string[];
}

/** The real kubectl: exit code, stdout and stderr are compared (normalised). */
export interface KubectlStep extends StepCommon {
  kubectl: string[];
  stdin?: string;
  /** Compare only the exit code (for waits whose progress output depends on timing). */
  codeOnly?: boolean;
}

/** A raw HTTP request; `http` is `METHOD /path?query`. */
export interface HttpStep extends StepCommon {
  http: string;
  body?: unknown;
  contentType?: string;
  accept?: string;
  /**
   * After a write, the stored object is read back and compared too (the object a POST named, or
   * the PUT/PATCH/DELETE path without its subresource); `false` skips that, a path reads another.
   */
  read?: string | false;
}

/** A call through the project's client-node adapter (src/kube). */
export interface ClientStep extends StepCommon {
  client: 'create' | 'get' | 'list' | 'patch' | 'replace' | 'delete';
  type: ResourceType;
  name?: string;
  object?: Record<string, unknown>;
  patch?: unknown;
  patchType?: PatchType;
  options?: WriteOptions;
  listOptions?: ListOptions;
}

/** A watch stream (`watch` is its path with query), read until an event or the end of the stream. */
export interface WatchStep extends StepCommon {
  watch: string;
  /** Stop after the first event of this type (and name); `end`: read until the server ends the stream. */
  until: { type: string; name?: string } | 'end';
}

export type Step = KubectlStep | HttpStep | ClientStep | WatchStep;

export interface Scenario {
  /** Unique, short, stable: the accepted-differences file and the docs refer to it. */
  name: string;
  /** What part of the API it covers (the table groups by it). */
  area: string;
  steps: Step[];
}
