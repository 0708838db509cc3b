import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { describe, test } from "node:test";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { loadConfig } from "../src/config/load-config.js";
import { envName, OPTION_SPECS } from "../src/config/options.js";
import { configJsonSchema } from "../src/config/validate-options.js";
import { createGateway } from "../src/server/create-gateway.js";
import { createLogger } from "../src/telemetry/logger.js";
import { createLogCapture, createMutableRegistry } from "./helpers/gateway-harness.js";

// biome-ignore lint/suspicious/noExplicitAny: manifests are walked freely in assertions
type Manifest = Record<string, any>;

const DIR = "deploy/kubernetes";
const manifests: Manifest[] = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .flatMap((f) =>
    parseAllDocuments(readFileSync(join(DIR, f), "utf8")).map((doc) => {
      assert.deepEqual(doc.errors, [], `${f} parses`);
      return doc.toJS() as Manifest;
    }),
  );
const byKind = (kind: string, name?: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && (name === undefined || m.metadata.name === name));
  assert.ok(found, `${kind} ${name ?? ""} in ${DIR}`);
  return found;
};

const deployment = byKind("Deployment", "refract");
const pod = deployment.spec.template.spec;
const container = pod.containers.find((c: Manifest) => c.name === "refract");
const args: string[] = container.args;
const configPath = args[args.indexOf("--config") + 1]!;
const configMap = byKind("ConfigMap", "refract-config");
const configText: string = configMap.data[basename(configPath)];
const port = (name: string): number => container.ports.find((p: Manifest) => p.name === name).containerPort;

/** The configuration the container really runs with: its args and env over the mounted file. */
function effectiveConfig() {
  const env = Object.fromEntries((container.env ?? []).map((e: Manifest) => [e.name, e.value]));
  const result = loadConfig({ argv: args, env, readFile: () => configText });
  assert.ok(result.ok, JSON.stringify(result));
  return result.config;
}

describe("deploy/kubernetes", () => {
  test("every manifest of the kustomization exists and parses", () => {
    const kustomization = parseYaml(readFileSync(join(DIR, "kustomization.yaml"), "utf8")) as Manifest;
    for (const resource of kustomization.resources as string[])
      assert.ok(readdirSync(DIR).includes(resource), resource);
    for (const kind of ["Deployment", "Service", "HorizontalPodAutoscaler", "ConfigMap", "StatefulSet"])
      byKind(kind);
  });

  test("the ConfigMap is mounted where --config points and holds a valid configuration", () => {
    const mount = container.volumeMounts.find((m: Manifest) => m.mountPath === dirname(configPath));
    assert.ok(mount, `a volume mounted at ${dirname(configPath)}`);
    const volume = pod.volumes.find((v: Manifest) => v.name === mount.name);
    assert.equal(volume.configMap.name, configMap.metadata.name);
    const keys = Object.keys(parseYaml(configText) as Manifest);
    const known = Object.keys((configJsonSchema() as { properties: Manifest }).properties);
    for (const key of keys) assert.ok(known.includes(key), `config key ${key} is an option`);
    const config = effectiveConfig();
    assert.ok(config.etcd.length >= 3, "discovery through the etcd cluster");
    assert.ok(
      config.etcd.every((url) => /^http:\/\/etcd-\d\.etcd:2379$/.test(url)),
      config.etcd.join(),
    );
    assert.equal(byKind("StatefulSet", "etcd").spec.replicas, config.etcd.length);
  });

  test("flags and REFRACT_* variables in the manifests are options the CLI knows", () => {
    const flags = new Set(["config", ...OPTION_SPECS.map((s) => s.flag)]);
    for (const arg of args.filter((a) => a.startsWith("--")))
      assert.ok(flags.has(arg.slice(2).split("=")[0]!), arg);
    const envNames = new Set(["REFRACT_CONFIG", ...OPTION_SPECS.map(envName)]);
    for (const env of container.env ?? [])
      if (env.name.startsWith("REFRACT_")) assert.ok(envNames.has(env.name), env.name);
  });

  test("ports and probes match what the gateway serves", async () => {
    const config = effectiveConfig();
    assert.equal(port("http"), config.port);
    assert.equal(port("admin"), config.adminPort);
    // kubelet probes the pod IP: the admin listener must not be loopback-only here.
    assert.equal(config.adminHost, "0.0.0.0");
    for (const [probe, path] of [
      ["livenessProbe", "/healthz"],
      ["readinessProbe", "/readyz"],
      ["startupProbe", "/healthz"],
    ] as const) {
      assert.deepEqual(container[probe].httpGet, { path, port: "admin" }, probe);
    }
    // The probe paths are real routes of the admin app (not found would be 404).
    const gateway = await createGateway({
      ...config,
      etcd: [],
      registry: createMutableRegistry(),
      logger: createLogger({ destination: createLogCapture().stream }),
    });
    try {
      assert.equal((await gateway.adminApp.inject({ method: "GET", url: "/healthz" })).statusCode, 200);
      assert.equal((await gateway.adminApp.inject({ method: "GET", url: "/readyz" })).statusCode, 503);
      assert.equal((await gateway.adminApp.inject({ method: "GET", url: "/metrics" })).statusCode, 200);
      assert.equal(pod.containers[0].ports.length, 2);
    } finally {
      await gateway.close();
    }
    const annotations = deployment.spec.template.metadata.annotations;
    assert.equal(Number(annotations["prometheus.io/port"]), config.adminPort);
    assert.equal(annotations["prometheus.io/path"], "/metrics");
  });

  test("many replicas behind one Service, scaled on CPU, drained gracefully", () => {
    const config = effectiveConfig();
    const labels = deployment.spec.template.metadata.labels;
    assert.deepEqual(deployment.spec.selector.matchLabels, labels);
    assert.ok(deployment.spec.replicas >= 2);
    const service = byKind("Service", "refract");
    assert.deepEqual(service.spec.selector, labels);
    assert.deepEqual(
      service.spec.ports.map((p: Manifest) => p.targetPort),
      ["http"],
      "only the public port is exposed",
    );
    const hpa = byKind("HorizontalPodAutoscaler", "refract");
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: "refract" });
    assert.ok(hpa.spec.minReplicas >= 2 && hpa.spec.maxReplicas > hpa.spec.minReplicas);
    assert.equal(hpa.spec.metrics[0].resource.name, "cpu");
    assert.ok(container.resources.requests.cpu, "CPU utilization needs a CPU request");
    const preStopSeconds = Number(container.lifecycle.preStop.exec.command[1]);
    assert.ok(
      pod.terminationGracePeriodSeconds * 1000 > preStopSeconds * 1000 + config.shutdownGraceMs,
      "kubelet waits longer than the gateway drains",
    );
  });

  test("runs as non-root with a read-only root filesystem", () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.notEqual(pod.securityContext.runAsUser, 0);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
    assert.ok(container.resources.limits.memory);
  });
});

describe("Dockerfile", () => {
  const text = readFileSync("Dockerfile", "utf8");
  const instructions = text
    .split("\n")
    .filter((l) => /^[A-Z]+\s/.test(l))
    .map((l) => l.trim());
  const stages = instructions.filter((l) => l.startsWith("FROM "));
  const last = instructions.slice(instructions.lastIndexOf(stages.at(-1)!));

  test("multi-stage: builds with the dev toolchain, runs with production dependencies only", () => {
    assert.ok(stages.length >= 2, "a build stage and a runtime stage");
    const build = instructions.slice(0, instructions.indexOf(stages[1]!));
    assert.ok(build.some((l) => /^RUN npm ci\b/.test(l) && !l.includes("--omit=dev")));
    assert.ok(build.some((l) => l.includes("npm run build")));
    assert.ok(last.some((l) => /^RUN npm ci .*--omit=dev/.test(l)));
    assert.ok(last.some((l) => /^COPY --from=\S+ \/app\/dist/.test(l)));
  });

  test("runs the CLI the package declares, as a non-root user, exposing the manifests' ports", () => {
    const pkg = JSON.parse(readFileSync("package.json", "utf8")) as { bin: Record<string, string> };
    assert.equal(pkg.bin.refract, "dist/src/cli/main.js");
    assert.ok(last.includes('ENTRYPOINT ["node", "dist/src/cli/main.js"]'));
    const user = last.find((l) => l.startsWith("USER "));
    assert.ok(user && !/^USER (root|0)(:|$)/.test(user.slice(5)), user);
    assert.equal(String(pod.securityContext.runAsUser), user!.slice(5).split(":")[0]);
    const exposed = last
      .find((l) => l.startsWith("EXPOSE "))!
      .slice(7)
      .split(/\s+/)
      .map(Number);
    assert.deepEqual(exposed.sort(), [port("http"), port("admin")].sort());
  });
});
