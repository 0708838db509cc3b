import assert from "node:assert/strict";
import { test } from "node:test";
import { Code, errorResponse, errors, GatewayError, statusJson } from "./errors.js";

test("errorResponse: status, the error's headers, content-type and the Status JSON body", () => {
  const error = errors.methodNotAllowed("PUT", "/v1/x", ["GET", "POST"]);
  assert.deepEqual(errorResponse(error), {
    status: 405,
    headers: { allow: "GET, POST", "content-type": "application/json; charset=utf-8" },
    body: '{"code":12,"message":"method PUT is not allowed on /v1/x; allowed: GET, POST","details":[]}',
  });
});

test("errorResponse: a 401 says how to authenticate unless the error names a scheme", () => {
  const plain = new GatewayError(Code.UNAUTHENTICATED, "who are you");
  assert.equal(errorResponse(plain).headers["www-authenticate"], "Bearer");
  const named = new GatewayError(Code.UNAUTHENTICATED, "who are you", {
    headers: { "www-authenticate": 'Basic realm="x"' },
  });
  assert.equal(errorResponse(named).headers["www-authenticate"], 'Basic realm="x"');
  assert.equal(errorResponse(errors.routeNotFound("GET", "/")).headers["www-authenticate"], undefined);
});

test("errorResponse: Retry-After travels with the error; the error's own headers are not changed", () => {
  const error = new GatewayError(Code.UNAVAILABLE, "busy", { headers: { "retry-after": "1" } });
  assert.equal(errorResponse(error).headers["retry-after"], "1");
  assert.deepEqual(error.headers, { "retry-after": "1" });
});

test("statusJson: the google.rpc.Status of the error, details included, never the cause", () => {
  const error = new GatewayError(Code.NOT_FOUND, "gone", {
    details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "X" }],
    cause: new Error("secret backend address"),
  });
  const text = statusJson(error);
  assert.deepEqual(JSON.parse(text), {
    code: 5,
    message: "gone",
    details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "X" }],
  });
  assert.ok(!text.includes("secret"));
});
