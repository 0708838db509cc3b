import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compileMatch, methodGlob, pathGlob, routeShape, type SelectorMethod } from "./selector.js";

const getBook: SelectorMethod = {
  backend: "library",
  selector: "acme.library.v1.LibraryService/GetBook",
  routes: ["/acme.library.v1.LibraryService/GetBook", "/v1/{name=shelves/*/books/*}"],
};
const getUser: SelectorMethod = {
  backend: "users",
  selector: "acme.user.v1.UserService/GetUser",
  routes: ["/acme.user.v1.UserService/GetUser", "/v1/users/{id}"],
};

describe("method globs", () => {
  const cases: Array<[string, string, boolean]> = [
    ["acme.library.v1.LibraryService/*", "acme.library.v1.LibraryService/GetBook", true],
    ["acme.library.v1.LibraryService/Get*", "acme.library.v1.LibraryService/ListBooks", false],
    ["acme.*/Get*", "acme.user.v1.UserService/GetUser", true],
    ["*", "anything/At", true],
    // `.` is literal, not "any character".
    ["acme.library.v1.LibraryService/GetBook", "acmeXlibrary.v1.LibraryService/GetBook", false],
    ["acme.library.v1.LibraryService/GetBook", "acme.library.v1.LibraryService/GetBooks", false],
  ];
  for (const [glob, selector, expected] of cases) {
    test(`${glob} ${expected ? "matches" : "does not match"} ${selector}`, () => {
      assert.equal(methodGlob(glob).test(selector), expected);
    });
  }
});

describe("path globs and route shapes", () => {
  test("variables are written as the segments they match", () => {
    assert.equal(routeShape("/v1/{name=shelves/*}/books"), "/v1/shelves/*/books");
    assert.equal(routeShape("/v1/users/{id}"), "/v1/users/*");
    assert.equal(routeShape("/v1/{name=**}:get"), "/v1/**:get");
  });
  const cases: Array<[string, string, boolean]> = [
    ["/v1/shelves/**", "/v1/shelves/*/books/*", true],
    ["/v1/shelves/*", "/v1/shelves/*/books/*", false],
    ["/v1/*/*", "/v1/users/*", true],
    ["/v1/users/*", "/v1/users/*", true],
    ["/v2/**", "/v1/users/*", false],
  ];
  for (const [glob, shape, expected] of cases) {
    test(`${glob} ${expected ? "matches" : "does not match"} ${shape}`, () => {
      assert.equal(pathGlob(glob).test(shape), expected);
    });
  }
});

describe("compiled match", () => {
  const cases: Array<[string, Parameters<typeof compileMatch>[0], SelectorMethod, boolean]> = [
    ["omitted = every method", undefined, getUser, true],
    ["empty = every method", {}, getUser, true],
    ["backend listed", { backends: ["library"] }, getBook, true],
    ["backend not listed", { backends: ["library"] }, getUser, false],
    ["methods glob", { methods: ["acme.library.v1.LibraryService/*"] }, getBook, true],
    ["template as written", { routes: ["/v1/{name=shelves/*/books/*}"] }, getBook, true],
    ["glob over paths", { routes: ["/v1/shelves/**"] }, getBook, true],
    ["glob over the default route", { routes: ["/acme.user.v1.UserService/*"] }, getUser, true],
    ["glob over paths, elsewhere", { routes: ["/v1/shelves/**"] }, getUser, false],
    // Every listed condition must hold.
    ["backend and method both hold", { backends: ["library"], methods: ["*/GetBook"] }, getBook, true],
    ["backend holds, method does not", { backends: ["library"], methods: ["*/ListBooks"] }, getBook, false],
  ];
  for (const [name, match, method, expected] of cases) {
    test(name, () => assert.equal(compileMatch(match).matches(method), expected));
  }
});
