import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  callRaw,
  ORDERS_PACKAGE,
  type PlainOrder,
  type StyledPair,
  startStyledPair,
} from "../fixtures/conformance-wire-styles.js";
import type { JsonOptions } from "../src/codec/codec.js";
import { DEFAULT_CONFIG } from "../src/config/config.js";
import { loadConfig } from "../src/config/load-config.js";
import { type GatewayHarness, postJson, startGatewayHarness } from "./helpers/gateway-harness.js";

// Issue 4 end to end: the JSON options through a real gateway, against a Node-style backend (proto-loader:
// defaults written on the wire) and a Go-style one (defaults left out) of the same schema
// (fixtures/conformance-wire-styles.ts). Whatever the options, both must give the same JSON, byte for byte.

const ORDERS: Record<string, PlainOrder> = {
  // Everything at its default, but the messages present: the Node backend writes every zero explicitly.
  zero: { order_id: "zero", primary_item: {}, items: [{}], labels_by_id: { "0": "" } },
  full: {
    order_id: "full",
    total_cents: "-9007199254740993",
    big_number: "18446744073709551615",
    paid: true,
    ratio: 0.5,
    blob: Buffer.from([0, 1, 255]),
    status: 1,
    primary_item: { sku: "A-1", quantity: 3, created_at: { seconds: "1706702400", nanos: 5_000_000 } },
    items: [{ sku: "B" }, { quantity: 2 }],
    tags: ["x", ""],
    labels_by_id: { "-9223372036854775808": "min", "9223372036854775807": "max" },
    // Only `true`: proto-loader's protobufjs 7 encodes every bool map key given as an object key
    // ("false" is a non-empty string) as true, a bug of Node backends that no gateway can undo.
    counts_by_flag: { true: 0 },
    priority: 0,
    email: "",
    history: [0, 2],
    // protobufjs defines the well-known types with camelCase field names, also under keepCase.
    attributes: { fields: { k: { listValue: { values: [{ numberValue: 1 }, { nullValue: 0 }] } } } },
  },
  // Enum numbers the schema does not define.
  odd: { order_id: "odd", status: 7, history: [1, 9] },
};

const FULL_DEFAULT = {
  orderId: "full",
  totalCents: "-9007199254740993",
  bigNumber: "18446744073709551615",
  paid: true,
  ratio: 0.5,
  blob: "AAH/",
  status: "STATUS_ACTIVE",
  primaryItem: { sku: "A-1", quantity: 3, createdAt: "2024-01-31T12:00:00.005Z" },
  items: [
    { sku: "B", quantity: 0, createdAt: null },
    { sku: "", quantity: 2, createdAt: null },
  ],
  tags: ["x", ""],
  labelsById: { "-9223372036854775808": "min", "9223372036854775807": "max" },
  countsByFlag: { true: 0 },
  priority: 0,
  email: "",
  history: ["STATUS_UNSPECIFIED", "STATUS_ARCHIVED"],
  attributes: { k: [1, null] },
};

const ZERO_DEFAULT = {
  orderId: "zero",
  totalCents: "0",
  bigNumber: "0",
  paid: false,
  ratio: 0,
  blob: "",
  status: "STATUS_UNSPECIFIED",
  primaryItem: { sku: "", quantity: 0, createdAt: null },
  items: [{ sku: "", quantity: 0, createdAt: null }],
  tags: [],
  labelsById: { "0": "" },
  countsByFlag: {},
  history: [],
  attributes: null,
};

/** What each combination must print (the same from both backends); undefined: only compared. */
const EXPECTED: Array<[options: Partial<JsonOptions>, id: string, json: unknown]> = [
  [{}, "zero", ZERO_DEFAULT],
  [{}, "full", FULL_DEFAULT],
  [
    {},
    "odd",
    {
      ...ZERO_DEFAULT,
      orderId: "odd",
      status: 7,
      history: ["STATUS_ACTIVE", 9],
      primaryItem: null,
      items: [],
      labelsById: {},
    },
  ],
  [
    { emitUnpopulated: false },
    "zero",
    { orderId: "zero", primaryItem: {}, items: [{}], labelsById: { "0": "" } },
  ],
  [
    { emitUnpopulated: false },
    "full",
    { ...FULL_DEFAULT, items: [{ sku: "B" }, { quantity: 2 }] }, // presence fields (priority, email) stay
  ],
  [{ emitUnpopulated: false, enumsAsInts: true }, "odd", { orderId: "odd", status: 7, history: [1, 9] }],
  [
    { useProtoNames: true, enumsAsInts: true, emitUnpopulated: false },
    "full",
    {
      order_id: "full",
      total_cents: "-9007199254740993",
      big_number: "18446744073709551615",
      paid: true,
      ratio: 0.5,
      blob: "AAH/",
      status: 1,
      primary_item: { sku: "A-1", quantity: 3, created_at: "2024-01-31T12:00:00.005Z" },
      items: [{ sku: "B" }, { quantity: 2 }],
      tags: ["x", ""],
      labels_by_id: { "-9223372036854775808": "min", "9223372036854775807": "max" },
      counts_by_flag: { true: 0 },
      priority: 0,
      email: "",
      history: [0, 2],
      attributes: { k: [1, null] },
    },
  ],
];

const DEFAULT_JSON: JsonOptions = DEFAULT_CONFIG.json;

const url = (harness: GatewayHarness, service: string, method: string) =>
  `${harness.publicUrl}/${ORDERS_PACKAGE}.${service}/${method}`;

let pair: StyledPair;
before(async () => {
  pair = await startStyledPair(ORDERS);
});
after(async () => {
  await pair.close();
});

async function withGateway(
  gateway: Parameters<typeof startGatewayHarness>[0],
  body: (harness: GatewayHarness) => Promise<void>,
): Promise<void> {
  const harness = await startGatewayHarness({
    library: false,
    users: false,
    backends: pair.backends,
    ...gateway,
  });
  try {
    await body(harness);
  } finally {
    await harness.close();
  }
}

/** GetOrder from both backends; asserts the two bodies are the same text; returns it parsed. */
async function sameFromBoth(harness: GatewayHarness, id: string): Promise<unknown> {
  const texts: string[] = [];
  for (const service of ["NodeOrders", "GoOrders"]) {
    const response = await fetch(url(harness, service, "GetOrder"), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ orderId: id }),
    });
    assert.equal(response.status, 200);
    texts.push(await response.text());
  }
  assert.equal(texts[0], texts[1], `${id}: Node-style and Go-style backends printed differently`);
  return JSON.parse(texts[0]!);
}

describe("JSON options end to end, Node-style vs Go-style backends", () => {
  test("the two backends really put different bytes on the wire", async () => {
    const request = Buffer.from("0a047a65726f", "hex"); // GetOrderRequest{order_id: "zero"}
    const node = await callRaw(pair.node.address, `/${ORDERS_PACKAGE}.NodeOrders/GetOrder`, request);
    const go = await callRaw(pair.go.address, `/${ORDERS_PACKAGE}.GoOrders/GetOrder`, request);
    assert.equal(go.toString("hex"), "0a047a65726f42004a005a0408001200");
    assert.ok(node.includes(Buffer.from("10001800200029", "hex")), `explicit zeros: ${node.toString("hex")}`);
    assert.ok(node.length > go.length);
  });

  for (const emitUnpopulated of [true, false]) {
    for (const useProtoNames of [false, true]) {
      for (const enumsAsInts of [false, true]) {
        const options = { emitUnpopulated, useProtoNames, enumsAsInts };
        test(`same JSON from both backends: ${JSON.stringify(options)}`, async () => {
          await withGateway({ gateway: { json: { ...DEFAULT_JSON, ...options } } }, async (harness) => {
            for (const id of Object.keys(ORDERS)) {
              const json = (await sameFromBoth(harness, id)) as Record<string, unknown>;
              assert.equal("order_id" in json, useProtoNames, "field names follow useProtoNames");
              if (id === "full") assert.equal(typeof json.status, enumsAsInts ? "number" : "string");
              assert.equal("totalCents" in json || "total_cents" in json, emitUnpopulated || id === "full");
              for (const [expectedOptions, expectedId, expected] of EXPECTED) {
                if (expectedId === id && sameOptions(expectedOptions, options))
                  assert.deepEqual(json, expected);
              }
            }
          });
        });
      }
    }
  }

  test("map<int64>, map<bool> keys and unknown enum numbers round-trip exactly", async () => {
    await withGateway({ gateway: { json: { ...DEFAULT_JSON, emitUnpopulated: false } } }, async (harness) => {
      const input = {
        labelsById: {
          "-9223372036854775808": "min",
          "9007199254740993": "2^53+1",
          "9223372036854775807": "max",
        },
        countsByFlag: { false: 0, true: -1 },
        status: 7,
        history: [1, 9, "STATUS_ARCHIVED", 2147483647],
      };
      const { status, body } = await postJson(url(harness, "GoOrders", "Echo"), input);
      assert.equal(status, 200);
      assert.deepEqual(body, { ...input, history: ["STATUS_ACTIVE", 9, "STATUS_ARCHIVED", 2147483647] });
      // int64 keys as JSON numbers are not keys: object keys are always strings, and these are exact.
      const numeric = await postJson(url(harness, "GoOrders", "Echo"), { labelsById: { "0009": "x" } });
      assert.equal(numeric.status, 400, "a map key must be the canonical decimal");
    });
  });

  test("discardUnknownFields: false answers 400 naming the field; per-backend overrides apply", async () => {
    const overrides = {
      emitUnpopulated: false,
      useProtoNames: true,
      enumsAsInts: true,
      discardUnknownFields: true,
    };
    await withGateway({ gateway: { backendJson: { go: overrides } } }, async (harness) => {
      const input = { orderId: "a", status: "STATUS_ARCHIVED", shippingAddress: { city: "Oslo" } };
      const strict = await postJson(url(harness, "NodeOrders", "Echo"), input);
      assert.equal(strict.status, 400);
      assert.deepEqual(strict.body, {
        code: 3,
        message: 'unknown field "shippingAddress" in refract.jsonopts.v1.Order',
        details: [],
      });
      const nested = await postJson(url(harness, "NodeOrders", "Echo"), { items: [{}, { colour: "red" }] });
      assert.equal(nested.status, 400);
      assert.match((nested.body as { message: string }).message, /^items\[1\]: unknown field "colour"/);

      const lenient = await postJson(url(harness, "GoOrders", "Echo"), input);
      assert.equal(lenient.status, 200);
      assert.deepEqual(lenient.body, { order_id: "a", status: 2 });
      // The other backend keeps the gateway-wide defaults.
      const node = await postJson(url(harness, "NodeOrders", "Echo"), { orderId: "a" });
      assert.equal((node.body as Record<string, unknown>).status, "STATUS_UNSPECIFIED");
    });
  });

  test("per-backend overrides load from a config file (backendJson)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "refract-json-config-"));
    try {
      const file = join(dir, "refract.yaml");
      writeFileSync(
        file,
        [
          "json:",
          "  emitUnpopulated: false",
          "backendJson:",
          "  go:",
          "    useProtoNames: true",
          "    discardUnknownFields: true",
          "backends:",
          ...pair.backends.map((b) => `  - { name: ${b.name}, address: "${b.address}" }`),
          "",
        ].join("\n"),
      );
      const loaded = loadConfig({ argv: ["--config", file], env: {} });
      assert.ok(loaded.ok, JSON.stringify(loaded));
      const { backends, ...config } = loaded.config;
      assert.deepEqual(config.backendJson, { go: { useProtoNames: true, discardUnknownFields: true } });
      const local = {
        port: 0,
        adminPort: 0,
        host: "127.0.0.1",
        adminHost: "127.0.0.1",
        refreshIntervalMs: 0,
      };
      const harness = await startGatewayHarness({
        library: false,
        users: false,
        backends,
        gateway: { ...config, ...local },
      });
      try {
        const input = { orderId: "a", paid: false, unknownThing: 1 };
        const go = await postJson(url(harness, "GoOrders", "Echo"), input);
        assert.deepEqual([go.status, go.body], [200, { order_id: "a" }]);
        const node = await postJson(url(harness, "NodeOrders", "Echo"), input);
        assert.equal(node.status, 400);
        const nodeOk = await postJson(url(harness, "NodeOrders", "Echo"), { orderId: "a", paid: false });
        assert.deepEqual(nodeOk.body, { orderId: "a" }, "file-level json applies to the other backend");
      } finally {
        await harness.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function sameOptions(expected: Partial<JsonOptions>, actual: Partial<JsonOptions>): boolean {
  const full = (o: Partial<JsonOptions>) => JSON.stringify({ ...DEFAULT_JSON, ...o });
  return full(expected) === full(actual);
}
