/**
 * The `jwt` policy's verified-token cache: a bounded LRU (a Map in recency order) from the SHA-256 of a
 * token to the identity it proved, each entry valid until the token's `exp` and never beyond — the clock
 * skew tolerated at verification is not extended to the cache. A hit costs a hash and a lookup, no
 * signature check. Keys are hashes so that the cache holds no token.
 */
import { hash } from "node:crypto";
import type { Identity } from "./policy.js";

/** The cache key of a token (SHA-256, base64url). */
export const tokenKey = (token: string): string => hash("sha256", token, "base64url");

export interface VerifiedTokenCache {
  /** The identity of a cached token still valid at `nowMs`, refreshed as most recently used. */
  get(key: string, nowMs: number): Identity | undefined;
  /** Remembers an identity until `expiresAtMs` (ignored when that is not after `nowMs`). */
  set(key: string, identity: Identity, expiresAtMs: number, nowMs: number): void;
  readonly size: number;
  clear(): void;
}

interface Entry {
  readonly identity: Identity;
  readonly expiresAtMs: number;
}

export function createTokenCache(maxEntries: number): VerifiedTokenCache {
  const entries = new Map<string, Entry>();
  return {
    get(key, nowMs) {
      const entry = entries.get(key);
      if (entry === undefined) return undefined;
      entries.delete(key);
      if (nowMs >= entry.expiresAtMs) return undefined;
      entries.set(key, entry);
      return entry.identity;
    },
    set(key, identity, expiresAtMs, nowMs) {
      if (maxEntries <= 0 || expiresAtMs <= nowMs) return;
      entries.delete(key);
      entries.set(key, { identity, expiresAtMs });
      if (entries.size > maxEntries) entries.delete(entries.keys().next().value!);
    },
    get size() {
      return entries.size;
    },
    clear() {
      entries.clear();
    },
  };
}
