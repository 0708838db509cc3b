import { Code, GatewayError } from "../errors.js";

/**
 * The refusals of the chain (CONTRACT.md §10, RFC 6750 §3). Messages say which rule was not met and never
 * carry a credential.
 */

const REALM = 'Bearer realm="refract"';

/** No credentials where they are required: 401 with a bare challenge. */
export function missingCredentials(what: string): GatewayError {
  return new GatewayError(Code.UNAUTHENTICATED, `${what} required`, {
    headers: { "www-authenticate": REALM },
  });
}

/** Credentials were sent and failed: 401 with `error="invalid_token"` and a description (no secret in it). */
export function invalidToken(description: string): GatewayError {
  const quoted = description.replace(/["\\]/g, "'");
  return new GatewayError(Code.UNAUTHENTICATED, `invalid token: ${description}`, {
    headers: { "www-authenticate": `${REALM}, error="invalid_token", error_description="${quoted}"` },
  });
}

// CONTRACT.md §10: every 401 of the chain carries `Bearer realm="refract"`; HTTP has no registered scheme
// for API keys, and one challenge keeps clients simple.
const API_KEY_REALM = REALM;

/** No API key where one is required: 401 with the contract's challenge. */
export function missingApiKey(): GatewayError {
  return new GatewayError(Code.UNAUTHENTICATED, "API key required", {
    headers: { "www-authenticate": API_KEY_REALM },
  });
}

/** An API key that matches no consumer: 401 (the client presented something, it is not known). */
export function invalidApiKey(): GatewayError {
  return new GatewayError(Code.UNAUTHENTICATED, "invalid API key", {
    headers: { "www-authenticate": API_KEY_REALM },
  });
}

/** Authenticated (or anonymous) but not allowed: 403 naming the unmet rule. */
export function denied(reason: string): GatewayError {
  return new GatewayError(Code.PERMISSION_DENIED, reason);
}

/** Over a limit: 429 with `Retry-After` and the RateLimit-* headers of the decision. */
export function limited(message: string, headers: Record<string, string>): GatewayError {
  return new GatewayError(Code.RESOURCE_EXHAUSTED, message, { headers });
}
