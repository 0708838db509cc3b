import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { endpointProblems, errorText, sleep, withTimeout } from "./etcd-registry-client.js";

describe("endpointProblems", () => {
  test("accepts http(s)://host:port", () => {
    assert.deepEqual(endpointProblems(["http://127.0.0.1:2379", "https://etcd.example:2379"]), []);
  });
  test("one problem per bad endpoint", () => {
    assert.deepEqual(endpointProblems([]), ["no etcd endpoint given"]);
    assert.deepEqual(endpointProblems(["localhost:2379", "http://etcd", "http://e:1/path", "ftp://e:1"]), [
      '"localhost:2379" is not an etcd endpoint (want http://host:port or https://host:port)',
      '"http://etcd" is not an etcd endpoint (want http://host:port or https://host:port)',
      '"http://e:1/path" is not an etcd endpoint (want http://host:port or https://host:port)',
      '"ftp://e:1" is not an etcd endpoint (want http://host:port or https://host:port)',
    ]);
  });
});

describe("helpers", () => {
  test("errorText drops grpc-js's empty resolution note", () => {
    assert.equal(
      errorText(new Error("14 UNAVAILABLE: No connection established. Last error: x. Resolution note: ")),
      "14 UNAVAILABLE: No connection established. Last error: x",
    );
    assert.equal(errorText("plain"), "plain");
  });
  test("sleep ends early on abort; withTimeout falls back", async () => {
    const stop = new AbortController();
    const slept = sleep(60_000, stop.signal);
    stop.abort();
    await slept;
    assert.equal(await withTimeout(new Promise<string>(() => {}), 10, "fallback"), "fallback");
    assert.equal(await withTimeout(Promise.resolve("value"), 1_000, "fallback"), "value");
    await assert.rejects(withTimeout(Promise.reject(new Error("boom")), 1_000, "fallback"), /boom/);
  });
});
