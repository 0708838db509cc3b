/**
 * The protobuf conformance testee for Refract (see conformance/README.md): the official
 * conformance_test_runner starts this program and talks to it over stdin/stdout; every request is
 * answered by a real gateway in front of a real grpc-js backend (conformance/answer.ts says how).
 *
 *   node --import tsx conformance/testee.ts [--gateway-defaults] [--log-level error]
 *
 * --gateway-defaults  run the gateways with Refract's default JSON options (emitUnpopulated: true)
 *                     instead of the suite's canonical printing (emitUnpopulated: false).
 * REFRACT_TESTEE_PROFILE=defaults does the same, for runners that pass the testee no arguments.
 * REFRACT_TESTEE_TRACE=<file> appends one tab-separated line per request (message type, category,
 * input → output, result kind, first 200 characters of the result) to the file, for failure analysis.
 */
import { appendFileSync } from "node:fs";
import { answerRequest } from "./answer.js";
import { type OptionProfile, startConformanceGateways } from "./gateways.js";
import {
  type ConformanceRequest,
  type ConformanceResponse,
  createFrameReader,
  decodeRequest,
  encodeResponse,
  frame,
} from "./protocol.js";

function parseArgs(argv: readonly string[]): { profile: OptionProfile; logLevel: string } {
  let profile: OptionProfile = process.env.REFRACT_TESTEE_PROFILE === "defaults" ? "defaults" : "canonical";
  let logLevel = "error";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--gateway-defaults") profile = "defaults";
    else if (arg === "--log-level" && argv[i + 1] !== undefined) logLevel = argv[++i]!;
    else throw new Error(`unknown argument ${arg}; usage: testee.ts [--gateway-defaults] [--log-level L]`);
  }
  return { profile, logLevel };
}

async function main(): Promise<void> {
  const { profile, logLevel } = parseArgs(process.argv.slice(2));
  const gateways = await startConformanceGateways({ profile, logLevel });
  process.stderr.write(`refract conformance testee: ${profile} options, gateways ${gateways.urls.strict}\n`);

  // The runner sends one request and waits for its answer, but nothing here relies on it: frames are
  // answered strictly in order through one promise chain.
  let queue: Promise<void> = Promise.resolve();
  const onFrame = (message: Buffer): void => {
    const copy = Buffer.from(message);
    queue = queue.then(async () => {
      let response: ConformanceResponse;
      const request = decodeRequest(copy);
      try {
        response = await answerRequest(request, gateways.urls);
      } catch (error) {
        response = { runtimeError: `testee: ${(error as Error).stack ?? String(error)}` };
      }
      if (trace) appendFileSync(trace, traceLine(request, response));
      await write(frame(encodeResponse(response)));
    });
  };
  process.stdin.on("data", createFrameReader(onFrame));
  process.stdin.on("end", () => {
    void queue.then(async () => {
      await gateways.close();
      process.exit(0);
    });
  });
}

const trace = process.env.REFRACT_TESTEE_TRACE;

function traceLine(request: ConformanceRequest, response: ConformanceResponse): string {
  const [kind, value] = Object.entries(response)[0] ?? ["none", ""];
  const shown = typeof value === "string" ? value : Buffer.from(value as Uint8Array).toString("base64");
  const input = request.payload ?? "none";
  const fields = [
    request.messageType,
    request.testCategory,
    `${input}→${request.requestedOutputFormat}`,
    kind,
  ];
  return `${[...fields, JSON.stringify(shown.slice(0, 200))].join("\t")}\n`;
}

function write(bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(bytes, (error) => (error ? reject(error) : resolve())),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`refract conformance testee failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
