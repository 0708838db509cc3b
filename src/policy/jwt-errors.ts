/**
 * jose's verification failures as the chain's refusals (RFC 6750 §3): a 401 with `error="invalid_token"`
 * and a short reason naming the rule the token broke — never the token, a claim value or a key. A key
 * source that cannot be reached is 503 (code 14): the token may be fine, the gateway could not check it.
 */
import { errors } from "jose";
import { Code, GatewayError } from "../errors.js";
import { KeySourceUnavailable } from "./jwt-keys.js";
import { invalidToken } from "./policy-errors.js";

// Claims jose validates; their names are fixed strings, safe to put in a description.
const CLAIM_REASONS: Readonly<Record<string, string>> = {
  aud: "audience not accepted",
  iss: "issuer not accepted",
  nbf: "token not yet valid",
  exp: "token expired",
  iat: "issued-at time not accepted",
  sub: "subject not accepted",
  typ: "token type not accepted",
};

/** The refusal for an error thrown while verifying a token (by jose, or by a key source). */
export function verificationRefusal(error: unknown): GatewayError {
  if (error instanceof KeySourceUnavailable) {
    return new GatewayError(Code.UNAVAILABLE, "identity provider unreachable", { cause: error });
  }
  return invalidToken(invalidTokenReason(error));
}

/** The description of a 401 for a token jose refused. */
export function invalidTokenReason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return "token expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    return CLAIM_REASONS[error.claim] ?? "claims not accepted";
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signature verification failed";
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm not allowed";
  if (error instanceof errors.JWKSNoMatchingKey) return "unknown signing key";
  if (error instanceof errors.JWKSMultipleMatchingKeys) return "ambiguous signing key";
  // JWSInvalid, JWTInvalid, JOSENotSupported (unsupported crit, b64), bad base64url or JSON, a key of the
  // wrong type for the alg (TypeError from jose's key checks): the token is not one this policy accepts.
  return "malformed token";
}
