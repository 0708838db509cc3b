import type { CatalogMethod } from "../catalog/catalog.js";

/**
 * What one backend call did, unary or stream, once it ended (after any retries): what the upstream
 * hands its interceptors. One class, so that every record has the same shape.
 */
export class UpstreamCallRecord {
  constructor(
    readonly method: CatalogMethod,
    /** Address of the instance that answered (or failed); undefined when none was reached. */
    readonly instanceAddress: string | undefined,
    /** The call's final gRPC code (0 = OK). */
    readonly grpcCode: number,
    /** From the call's start to its end, retries included. */
    readonly durationMs: number,
    /** A server-, client- or bidi-streaming call (else unary). */
    readonly streaming: boolean,
  ) {}
}
