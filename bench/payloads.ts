/**
 * Deterministic benchmark payloads in proto3 JSON form (refract.bench.v1.Payload): a small one like a
 * real request (~650 B: strings, int32/int64, bool, double, an enum, a repeated string, a nested message,
 * a small map, bytes) and a large one (~10 KB: the same plus 25 nested items).
 */

function item(i: number): Record<string, unknown> {
  return {
    id: String(9_000_000_000_000 + i),
    sku: `SKU-${String(i).padStart(6, "0")}`,
    title: `Item number ${i} with a reasonably descriptive title for a catalogue`,
    quantity: (i % 7) + 1,
    unitPrice: 12.5 + i,
    tags: ["catalogue", `batch-${i % 4}`, "bench"],
    addedAt: `2024-05-${String((i % 27) + 1).padStart(2, "0")}T10:15:30.250Z`,
  };
}

export const smallPayload: Record<string, unknown> = {
  id: "1234567890123456789",
  name: "Ada Lovelace",
  email: "ada.lovelace@example.com",
  age: 36,
  verified: true,
  score: 98.6,
  status: "STATUS_ACTIVE",
  roles: ["admin", "editor", "reviewer"],
  address: { street: "12 St James's Square", city: "London", country: "GB", postalCode: "SW1Y 4JH" },
  labels: { team: "analytical-engines", region: "eu-west", tier: "gold" },
  avatar: Buffer.from("a small avatar thumbnail stand-in, 64 bytes of binary-ish data!!").toString("base64"),
  bio: "Mathematician and writer, chiefly known for her work on Charles Babbage's proposed mechanical general-purpose computer, the Analytical Engine.",
  items: [],
};

export const largePayload: Record<string, unknown> = {
  ...smallPayload,
  items: Array.from({ length: 25 }, (_, i) => item(i)),
};
