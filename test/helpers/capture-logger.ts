import { Writable } from "node:stream";
import pino, { type Logger } from "pino";

/** One pino line, parsed. */
export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A debug-level pino logger whose JSON lines are parsed into `lines` (for components tested alone). */
export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  let partial = "";
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      partial += chunk.toString("utf8");
      for (let nl = partial.indexOf("\n"); nl >= 0; nl = partial.indexOf("\n")) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        if (line.trim()) lines.push(JSON.parse(line) as LogLine);
      }
      callback();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}
