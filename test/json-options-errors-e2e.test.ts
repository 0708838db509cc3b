import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ORDERS_PACKAGE, type StyledPair, startStyledPair } from "../fixtures/conformance-wire-styles.js";
import { type GatewayHarness, startGatewayHarness } from "./helpers/gateway-harness.js";

// Issue 4, "errors that point at the mistake", end to end: a bad request body is a 400 with a
// google.rpc.Status JSON whose message starts with the JSON path, never a 500, and never reaches the
// backend. (The codec's own tests cover the cases exhaustively; these show them through the gateway.)

let pair: StyledPair;
let harness: GatewayHarness;
let echoUrl: string;
before(async () => {
  pair = await startStyledPair({});
  harness = await startGatewayHarness({ library: false, users: false, backends: pair.backends });
  echoUrl = `${harness.publicUrl}/${ORDERS_PACKAGE}.GoOrders/Echo`;
});
after(async () => {
  await harness.close();
  await pair.close();
});

async function post(body: string | Uint8Array): Promise<{ status: number; type: string; body: unknown }> {
  const response = await fetch(echoUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    body: await response.json(),
  };
}

const echoCalls = () => pair.go.calls.filter((c) => c.path.endsWith("/Echo")).length;

/** Asserts a 400 google.rpc.Status whose message matches, and that the backend saw no call. */
async function rejects(body: string | Uint8Array, message: RegExp): Promise<string> {
  const before = echoCalls();
  const response = await post(body);
  assert.equal(response.status, 400, JSON.stringify(response.body));
  assert.match(response.type, /^application\/json/);
  const status = response.body as { code: unknown; message: unknown; details: unknown };
  assert.deepEqual(Object.keys(status).sort(), ["code", "details", "message"]);
  assert.equal(status.code, 3);
  assert.deepEqual(status.details, []);
  assert.equal(typeof status.message, "string");
  assert.match(status.message as string, message);
  assert.equal(echoCalls(), before, "a rejected request never reaches the backend");
  return status.message as string;
}

const items = (n: number, last: unknown) => JSON.stringify({ items: [...Array(n).fill({}), last] });

describe("JSON request errors through the gateway: 400 with the path and the problem", () => {
  const cases: Array<[name: string, body: string, message: RegExp]> = [
    [
      "invalid timestamp deep in a list",
      items(3, { createdAt: "2024-13-01" }),
      /^items\[3\]\.createdAt: invalid timestamp "2024-13-01"/,
    ],
    [
      "timestamp out of range",
      items(0, { createdAt: "10000-01-01T00:00:00Z" }),
      /^items\[0\]\.createdAt: invalid timestamp "10000-01-01T00:00:00Z"/,
    ],
    ["string for a bool", '{"paid": "yes"}', /^paid: expected bool, got string "yes"/],
    ["object for a repeated field", '{"items": {}}', /^items: expected array, got object/],
    ["bool for an int64", '{"totalCents": true}', /^totalCents: expected int64, got boolean true/],
    [
      "fraction for an int32",
      '{"primaryItem": {"quantity": 1.5}}',
      /^primaryItem\.quantity: expected int32, got number 1\.5/,
    ],
    [
      "int32 out of range",
      '{"primaryItem": {"quantity": 3000000000}}',
      /^primaryItem\.quantity: .*out of range/,
    ],
    [
      "int64 out of range",
      '{"totalCents": "9223372036854775808"}',
      /^totalCents: string "9223372036854775808" is out of range for int64/,
    ],
    ["negative uint64", '{"bigNumber": "-1"}', /^bigNumber: string "-1" is out of range for uint64/],
    ["double overflow", '{"ratio": 1e400}', /^ratio: number out of range for double/],
    ["bad base64", '{"blob": "***"}', /^blob: invalid base64/],
    ["unknown enum name", '{"status": "STATUS_NOPE"}', /^status: unknown value "STATUS_NOPE"/],
    [
      "unknown enum name in a list",
      '{"history": ["STATUS_ACTIVE", "NOPE"]}',
      /^history\[1\]: unknown value "NOPE"/,
    ],
    ["bad int64 map key", '{"labelsById": {"1.5": "x"}}', /^labelsById\["1\.5"\]: invalid int64 map key/],
    ["bad bool map key", '{"countsByFlag": {"yes": 1}}', /^countsByFlag\["yes"\]: invalid bool map key/],
    ["duplicate key", '{"orderId": "a", "orderId": "b"}', /duplicate key "orderId"/],
    [
      "duplicate key, nested",
      '{"primaryItem": {"sku": "a", "sku": "b"}}',
      /^primaryItem: duplicate key "sku"/,
    ],
    [
      "same field by JSON and proto name",
      '{"orderId": "a", "order_id": "b"}',
      /field order_id is given twice/,
    ],
    ["two members of one oneof", '{"email": "a@b.c", "phone": "+47"}', /oneof "contact" has two members set/],
    ["malformed JSON", '{"orderId": "a",}', /malformed JSON at line 1, column \d+/],
    ["not an object", "[1, 2]", /^expected object for refract\.jsonopts\.v1\.Order, got array/],
    ["null as a map value", '{"labelsById": {"1": null}}', /^labelsById\["1"\]: expected string, got null/],
  ];
  for (const [name, body, message] of cases) {
    test(name, async () => {
      await rejects(body, message);
    });
  }

  test("nesting deeper than the limit", async () => {
    const deep = (levels: number) => `{"attributes": ${'{"a": '.repeat(levels)}1${"}".repeat(levels)}}`;
    // A Struct nests two messages (Struct → Value) per JSON level: the message limit the backend's answer
    // is decoded with comes before the JSON one (issue 13.2).
    await rejects(deep(70), /^attributes\["a"\].*: messages nested deeper than 100 levels$/);
    assert.equal((await post(deep(30))).status, 200, "30 levels are fine");
  });

  test("the message names the field, not only the type", async () => {
    const message = await rejects('{"primaryItem": {"createdAt": 5}}', /^primaryItem\.createdAt: /);
    assert.ok(!message.startsWith("refract."), message);
  });

  test("invalid UTF-8 in the body is 400 naming the offset of the first bad byte", async () => {
    // {"orderId": "a<FF FE>"}: decoding it leniently would hand the backend U+FFFD the client never sent.
    const body = Buffer.concat([Buffer.from('{"orderId": "a'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    const response = await post(body);
    assert.equal(response.status, 400);
    assert.match(
      (response.body as { message: string }).message,
      /not valid UTF-8 \(first bad byte at offset 14\)/,
    );
  });
});
