/** The receiver: HTTP API that turns verified GitHub OIDC dispatches into DeployRequests. */
export { createReceiverApp, type ReceiverDeps } from './receiver-app.js';
export { startReceiver, type ReceiverServerConfig, type RunningReceiver } from './start-receiver.js';
export { loadReceiverConfig, RECEIVER_SETTINGS, type ReceiverConfig } from './receiver-config.js';
export {
  parseDispatchBody,
  LIMITS,
  type DispatchInput,
  type ImageReferenceParser,
  type ParsedImage,
} from './dispatch-body.js';
export { deriveRequestName } from './request-name.js';
export { TOKEN_HASH_LABEL } from './dispatch-handler.js';
export {
  createRateLimiter,
  type RateLimiter,
  type RateLimitSettings,
  type RateLimitDecision,
} from './rate-limiter.js';
export { HttpError, type ErrorCode, type FieldIssue } from './http-error.js';
export type { PolicyEvaluator, PolicyDecision, PolicyDenialReason } from './policy-port.js';
export { receiverDepsFromConfig, type ReceiverEnvironment } from './receiver-from-config.js';
export { createPolicyCache, type PolicyCache } from './policy-cache.js';
