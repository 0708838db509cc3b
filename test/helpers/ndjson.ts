/** One line of a server-streaming NDJSON answer (CONTRACT.md §5). */
export interface NdjsonLine {
  result?: Record<string, unknown>;
  error?: { code: number; message: string; details: unknown[] };
}

export function parseNdjson(text: string): NdjsonLine[] {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as NdjsonLine);
}
