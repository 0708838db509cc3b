/**
 * The layer rule of ARCHITECTURE.md, checked by `npm run lint` (dependency-cruiser, type imports
 * included): a module may import only from its own layer or the layers below it, and nothing may form a
 * cycle. Bottom to top:
 *
 *   errors.ts, package-paths.ts, backoff.ts → codec → config → registry, reflection → router → policy
 *   → config-store → catalog → upstream → telemetry → gateway → docs → admin → server → cli, index.ts
 */
const LAYERS = [
  ["src/(errors|package-paths|backoff)\\.ts$"],
  ["src/codec/"],
  ["src/config/"],
  ["src/registry/", "src/reflection/"],
  ["src/router/"],
  ["src/policy/"],
  ["src/config-store/"],
  ["src/catalog/"],
  ["src/upstream/"],
  ["src/telemetry/"],
  ["src/gateway/"],
  ["src/docs/"],
  ["src/admin/"],
  ["src/server/"],
  ["src/cli/", "src/index\\.ts$"],
];

/** For each layer, one rule: it must not import from any layer above it. */
const layerRules = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `layer-${index}-imports-upward`,
  comment: `${layer.join(" ")} must not import from a higher layer (see .dependency-cruiser.cjs)`,
  severity: "error",
  from: { path: `^(${layer.join("|")})` },
  to: {
    path: `^(${LAYERS.slice(index + 1)
      .flat()
      .join("|")})`,
  },
}));

/** Same-layer siblings stay independent of each other. */
const siblingRules = LAYERS.filter((layer) => layer.length > 1).flatMap((layer) =>
  layer.map((from) => ({
    name: `sibling-${from.replace(/[^a-z]/g, "")}`,
    comment: `${from} and its same-layer siblings do not import each other`,
    severity: "error",
    from: { path: `^${from}` },
    to: { path: `^(${layer.filter((other) => other !== from).join("|")})` },
  })),
);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "No import cycles, between folders or files, type imports included.",
      severity: "error",
      from: { path: "^src/" },
      to: { circular: true },
    },
    {
      name: "no-framework-below-the-server",
      comment: "codec, router, catalog and reflection are framework-free.",
      severity: "error",
      from: { path: "^src/(codec|router|policy|config-store|catalog|reflection|registry|upstream)/" },
      to: { path: "node_modules/(fastify|@fastify)/" },
    },
    {
      name: "no-test-code-in-src",
      comment: "Production modules never import tests or test helpers.",
      severity: "error",
      from: { path: "^src/", pathNot: "\\.test\\.ts$|\\.test-helper\\.ts$" },
      to: { path: "\\.test\\.ts$|\\.test-helper\\.ts$|^test/" },
    },
    ...layerRules,
    ...siblingRules,
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
    },
    exclude: { path: "\\.test\\.ts$" },
  },
};
