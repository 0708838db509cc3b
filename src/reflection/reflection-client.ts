import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { type DescriptorFile, decodeDescriptorFile } from "./descriptor-file.js";

/**
 * A client of gRPC server reflection (grpc/reflection/v1/reflection.proto and its v1alpha twin, which
 * has the same messages under another package). One bidirectional stream per fetch: list_services, then
 * file_containing_symbol per service, then file_by_filename for every dependency not yet seen, until
 * the set is closed. Servers differ a lot (../shared/REFLECTION-NOTES.md), so nothing here trusts one:
 * files are de-duplicated by name, answers may carry any number of files, and missing imports are
 * tolerated (options-only imports such as validate.proto are often absent).
 */

export type ReflectionVersion = "v1" | "v1alpha";

/** Services a gateway never routes (CONTRACT.md §1); they are not even fetched. */
export const INFRASTRUCTURE_SERVICES: ReadonlySet<string> = new Set([
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
  "grpc.health.v1.Health",
]);

// The reflection messages, declared inline: identical in v1 and v1alpha.
const REFLECTION_PROTO = `
syntax = "proto3";
package refract.reflection;
message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    string list_services = 7;
  }
}
message ServerReflectionResponse {
  string valid_host = 1;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse { int32 error_code = 1; string error_message = 2; }
`;
const reflectionRoot = protobuf.parse(REFLECTION_PROTO).root;
const RequestType = reflectionRoot.lookupType("refract.reflection.ServerReflectionRequest");
const ResponseType = reflectionRoot.lookupType("refract.reflection.ServerReflectionResponse");

interface ReflectionResponse {
  fileDescriptorResponse?: { fileDescriptorProto: Uint8Array[] };
  listServicesResponse?: { service: { name: string }[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

const METHOD_PATH: Record<ReflectionVersion, string> = {
  v1: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  v1alpha: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};

/** What one instance serves, as raw descriptors. */
export interface ReflectedSchema {
  version: ReflectionVersion;
  /** Application services (infrastructure services filtered out), fully qualified, sorted. */
  services: string[];
  /** Every file received, by file name, in the order received. */
  files: Map<string, DescriptorFile>;
  /** Services the server listed but whose descriptors it could not give (logged by the caller). */
  unresolvedServices: string[];
  /** Dependencies named by a received file that the server did not have (often options-only imports). */
  missingFiles: string[];
}

export interface FetchOptions {
  /** Try this version first (the one that worked last time for this instance). Default v1. */
  preferredVersion?: ReflectionVersion;
  /** Deadline of the whole fetch. Default 10 s. */
  timeoutMs?: number;
  /** Also fetch these infrastructure services (when explicitly allowed). */
  includeServices?: ReadonlySet<string>;
}

/** A reflection failure; `code` is the gRPC status of the stream when there was one. */
export class ReflectionError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ReflectionError";
    this.code = code;
  }
}

/**
 * Fetches the full schema of one instance through reflection, trying the preferred version first and
 * falling back to the other on UNIMPLEMENTED or UNAVAILABLE (some servers reset the stream on an
 * unknown service). `client` should be a channel with a raised receive limit: descriptor answers of
 * large APIs exceed gRPC's 4 MiB default.
 */
export async function fetchSchema(client: grpc.Client, options: FetchOptions = {}): Promise<ReflectedSchema> {
  const first = options.preferredVersion ?? "v1";
  const second: ReflectionVersion = first === "v1" ? "v1alpha" : "v1";
  try {
    return await fetchWithVersion(client, first, options);
  } catch (error) {
    if (!(error instanceof ReflectionError) || !isFallbackCode(error.code)) throw error;
    try {
      return await fetchWithVersion(client, second, options);
    } catch (secondError) {
      if (secondError instanceof ReflectionError && isFallbackCode(secondError.code)) {
        throw new ReflectionError(
          `server reflection unavailable (${first}: ${error.message}; ${second}: ${secondError.message})`,
          secondError.code,
          secondError,
        );
      }
      throw secondError;
    }
  }
}

function isFallbackCode(code: number | undefined): boolean {
  return code === grpc.status.UNIMPLEMENTED || code === grpc.status.UNAVAILABLE;
}

async function fetchWithVersion(
  client: grpc.Client,
  version: ReflectionVersion,
  options: FetchOptions,
): Promise<ReflectedSchema> {
  const stream = openStream(client, version, options.timeoutMs ?? 10_000);
  try {
    const listed = await stream.ask({ listServices: "*" });
    if (listed.errorResponse) throw errorFromResponse("list_services", listed.errorResponse);
    const names = (listed.listServicesResponse?.service ?? [])
      // @grpc/reflection lists a package-less service as ".Name"; protobuf names have no leading dot.
      .map((s) => s.name.replace(/^\./, ""))
      .filter(
        (name) => name !== "" && (!INFRASTRUCTURE_SERVICES.has(name) || options.includeServices?.has(name)),
      );
    const services = [...new Set(names)].sort();

    const files = new Map<string, DescriptorFile>();
    const missingFiles: string[] = [];
    const unresolvedServices: string[] = [];
    const addFiles = (response: ReflectionResponse): void => {
      for (const bytes of response.fileDescriptorResponse?.fileDescriptorProto ?? []) {
        const file = decodeDescriptorFile(bytes);
        // First answer wins: C++ servers re-send the whole import chain on every request.
        if (!files.has(file.name)) files.set(file.name, file);
      }
    };

    for (const service of services) {
      const answer = await stream.ask({ fileContainingSymbol: service });
      if (answer.errorResponse) unresolvedServices.push(service);
      else addFiles(answer);
    }

    // Close the dependency graph. Servers with per-stream de-duplication (grpc-go) never re-send a file
    // on the same stream, which is why one stream is used per fetch and every file is kept.
    const requested = new Set<string>(files.keys());
    for (;;) {
      const wanted = [...files.values()].flatMap((f) => f.dependencies).filter((dep) => !requested.has(dep));
      if (wanted.length === 0) break;
      for (const dep of new Set(wanted)) {
        requested.add(dep);
        const answer = await stream.ask({ fileByFilename: dep });
        if (answer.errorResponse) missingFiles.push(dep);
        else addFiles(answer);
      }
    }
    return { version, services, files, unresolvedServices, missingFiles };
  } finally {
    stream.end();
  }
}

function errorFromResponse(
  what: string,
  error: { errorCode: number; errorMessage: string },
): ReflectionError {
  return new ReflectionError(
    `${what}: ${error.errorMessage || `error code ${error.errorCode}`}`,
    error.errorCode,
  );
}

interface ReflectionStream {
  /** Sends one request and resolves with its answer (answers come in request order). */
  ask(request: Record<string, unknown>): Promise<ReflectionResponse>;
  end(): void;
}

function openStream(client: grpc.Client, version: ReflectionVersion, timeoutMs: number): ReflectionStream {
  const call = client.makeBidiStreamRequest(
    METHOD_PATH[version],
    (request: Uint8Array) => Buffer.from(request),
    (bytes: Buffer) => bytes,
    new grpc.Metadata(),
    { deadline: Date.now() + timeoutMs },
  );
  const waiting: Array<{ resolve: (r: ReflectionResponse) => void; reject: (e: unknown) => void }> = [];
  let failure: ReflectionError | undefined;
  const failAll = (error: ReflectionError): void => {
    failure ??= error;
    for (const w of waiting.splice(0)) w.reject(failure);
  };
  call.on("data", (bytes: Buffer) => {
    const next = waiting.shift();
    if (!next) return;
    try {
      next.resolve(
        ResponseType.toObject(ResponseType.decode(bytes), { defaults: false }) as ReflectionResponse,
      );
    } catch (cause) {
      next.reject(
        new ReflectionError(`undecodable reflection answer: ${(cause as Error).message}`, undefined, cause),
      );
    }
  });
  call.on("error", (error: grpc.ServiceError) => {
    failAll(new ReflectionError(`${version}: ${error.details || error.message}`, error.code, error));
  });
  call.on("end", () => failAll(new ReflectionError(`${version}: stream ended before answering`)));
  return {
    ask(request) {
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        call.write(RequestType.encode(RequestType.fromObject(request)).finish());
      });
    },
    end() {
      failure ??= new ReflectionError(`${version}: stream closed`);
      call.cancel();
    },
  };
}
