import type { CatalogMethod } from "../catalog/catalog.js";
import { errors, type GatewayError } from "../errors.js";
import type { CallFailure } from "./call-errors.js";
import type { Cancellation } from "./cancellation.js";

/**
 * The one retry rule of the upstream, for unary calls and streams alike: a call moves to the next
 * candidate instance only when it cannot have reached the backend — the connection was never
 * established, the backend refused the stream (HTTP/2 REFUSED_STREAM, RFC 9113 §8.7) or announced with
 * GOAWAY that it never processed it (§6.8) — and never after a request may have been delivered: a
 * gateway does not know whether a method is idempotent. A cancelled call is not moved either.
 */
export function tryAnotherInstance(error: unknown, cancellation: Cancellation | undefined): boolean {
  return (error as Partial<CallFailure> | undefined)?.notDelivered === true && !cancellation?.cancelled;
}

/** The error of a call that reached no instance at all: 503 UNAVAILABLE. */
export function allUnreachable(method: CatalogMethod, attempts: number): GatewayError {
  return errors.noInstance(method.service, `${attempts} instance(s) unreachable`);
}
