import { MAX_MESSAGE_DEPTH } from "./decode.js";
import type { MessagePlan } from "./plan.js";
import { atField, atIndex, fail, RawNumber } from "./problems.js";
import type { WireWriter } from "./wire-writer.js";

/**
 * The state of one JSON → bytes conversion and the checks every writer shares (depth, message depth,
 * object member counting), below the writers themselves so that none of them needs another at load.
 */

export interface FromJsonContext {
  w: WireWriter;
  readonly discardUnknown: boolean;
  readonly maxDepth: number;
  /** Object members converted or skipped, compared with the text's count to find duplicate keys. */
  members: number;
  /**
   * Messages open around the one being written (0 at the top), counted as the decoder counts them, so
   * a request that is accepted can always be decoded again (a backend echoing it must not fail).
   */
  messageDepth: number;
  /** Message type named by an Any's `@type`, or undefined. */
  readonly resolveAny: (typeUrl: string) => MessagePlan | undefined;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof RawNumber)
  );
}

export function checkDepth(ctx: FromJsonContext, depth: number): void {
  if (depth > ctx.maxDepth) fail(`JSON nesting deeper than ${ctx.maxDepth} levels`);
}

/**
 * Opens a nested message. JSON depth and message depth differ: a google.protobuf.Value list nests two
 * messages (Value → ListValue) per JSON level, so `[[[…]]]` within the JSON limit could exceed the
 * decoder's message limit; checking both here keeps one rule for requests and responses (issue 13).
 * The caller closes it with `ctx.messageDepth--`; after a failure `encode` starts again from 0.
 */
export function enterMessage(ctx: FromJsonContext): void {
  if (++ctx.messageDepth > MAX_MESSAGE_DEPTH) fail(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
}

/** Members of all objects inside a skipped JSON value (an unknown field), checking its depth too. */
export function countMembers(value: unknown, ctx: FromJsonContext, depth: number): number {
  if (typeof value !== "object" || value === null || value instanceof RawNumber) return 0;
  checkDepth(ctx, depth);
  let n = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      try {
        n += countMembers(value[i], ctx, depth + 1);
      } catch (error) {
        atIndex(error, i);
      }
    }
    return n;
  }
  for (const key of Object.keys(value)) {
    try {
      n += 1 + countMembers((value as Record<string, unknown>)[key], ctx, depth + 1);
    } catch (error) {
      atField(error, key);
    }
  }
  return n;
}
