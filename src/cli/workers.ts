import cluster, { type Worker } from "node:cluster";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import { AggregatorRegistry } from "prom-client";
import type { GatewayInternals } from "../server/create-gateway.js";
import type { StopSignal } from "./stop-signal.js";

/**
 * `--workers N`: N gateway processes share the public port (node:cluster hands connections out round
 * robin), each with its own registry watch, reflection and catalog — the same stateless replicas users
 * run behind a load balancer, on one machine. The supervising process restarts a worker that dies,
 * serves the admin port for all of them (health and readiness across workers, metrics summed with
 * prom-client's AggregatorRegistry, admin views from one worker), and on SIGTERM lets every worker
 * drain before it exits.
 */

/** Messages between the supervisor and its workers (over the cluster IPC channel). */
type ToWorker = { type: "admin-request"; id: number; url: string };
type AdminAnswer = {
  type: "admin-response";
  id: number;
  statusCode: number;
  contentType: string;
  body: string;
};
type ToSupervisor = { type: "ready"; publicUrl: string } | AdminAnswer;

const ADMIN_TIMEOUT_MS = 5000;
const RESTART_DELAY_MS = 500;

export interface SupervisorOptions {
  workers: number;
  adminPort: number;
  adminHost: string;
  /** Workers get this long after SIGTERM (plus a margin) before they are killed. */
  shutdownGraceMs: number;
  logger: Logger;
  /** SIGTERM/SIGINT, caught since the command started (later ones are ignored: workers get the grace). */
  stop: StopSignal;
  /** Extra environment for the workers (e.g. the demo backends' addresses). */
  env?: Record<string, string>;
  /** Called once when every worker listens. */
  onReady?: (publicUrl: string, adminUrl: string) => void;
}

/** Runs in the primary process: forks the workers and serves the admin port. Resolves with the exit code. */
export async function superviseWorkers(options: SupervisorOptions): Promise<number> {
  const log = options.logger.child({ component: "supervisor" });
  const ready = new Map<number, string>();
  const pending = new Map<number, (message: AdminAnswer) => void>();
  let nextRequestId = 1;
  let stopping = false;
  let announced = false;

  const fork = (): Worker => {
    const worker = cluster.fork({ ...options.env, REFRACT_WORKER: "1" });
    worker.on("message", (message: ToSupervisor) => {
      if (message.type === "ready") {
        ready.set(worker.id, message.publicUrl);
        if (!announced && ready.size === options.workers) {
          announced = true;
          log.info({ publicUrl: message.publicUrl, adminUrl, workers: options.workers }, "refract listening");
          options.onReady?.(message.publicUrl, adminUrl);
        }
      } else if (message.type === "admin-response") {
        pending.get(message.id)?.(message);
        pending.delete(message.id);
      }
    });
    worker.on("exit", (code, signal) => {
      ready.delete(worker.id);
      if (stopping) return;
      log.error({ worker: worker.id, code, signal }, "worker died; starting another");
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS);
    });
    return worker;
  };

  /** Asks a worker's admin app; never rejects: a worker that is exiting or silent answers 503. */
  const ask = (worker: Worker, url: string): Promise<AdminAnswer> =>
    new Promise((resolve) => {
      const id = nextRequestId++;
      const unavailable = (why: string): void => {
        clearTimeout(timer);
        pending.delete(id);
        resolve({
          type: "admin-response",
          id,
          statusCode: 503,
          contentType: "application/json",
          body: JSON.stringify({ status: why }),
        });
      };
      const timer = setTimeout(() => unavailable(`worker ${worker.id} did not answer`), ADMIN_TIMEOUT_MS);
      pending.set(id, (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      // An exiting worker has closed its IPC channel; with a callback, send reports that there, not as 'error'.
      if (!worker.isConnected()) return unavailable("worker exiting");
      worker.send({ type: "admin-request", id, url } satisfies ToWorker, undefined, (error) => {
        if (error) unavailable("worker exiting");
      });
    });

  const liveWorkers = (): Worker[] =>
    Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => !!w && ready.has(w.id) && w.isConnected(),
    );

  const admin = buildSupervisorAdmin({
    ask,
    liveWorkers,
    expected: options.workers,
    isStopping: () => stopping,
    log,
  });
  const adminUrl = await admin.listen({ port: options.adminPort, host: options.adminHost });
  if (!options.stop.stopping) for (let i = 0; i < options.workers; i++) fork();

  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "stopping workers");
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      const exits = workers.map(
        (worker) =>
          new Promise<number>((done) => {
            if (worker.isDead()) return done(0);
            const killer = setTimeout(() => worker.process.kill("SIGKILL"), options.shutdownGraceMs + 5000);
            worker.once("exit", (code) => {
              clearTimeout(killer);
              done(code ?? 1);
            });
            worker.process.kill("SIGTERM");
          }),
      );
      void Promise.all(exits).then(async (codes) => {
        await admin.close();
        resolve(codes.every((c) => c === 0) ? 0 : 1);
      });
    };
    void options.stop.received.then(stop);
  });
}

interface SupervisorAdminOptions {
  ask(worker: Worker, url: string): Promise<AdminAnswer>;
  liveWorkers(): Worker[];
  expected: number;
  isStopping(): boolean;
  log: Logger;
}

function buildSupervisorAdmin(options: SupervisorAdminOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: options.log,
    logController: new LogController({ disableRequestLogging: true }),
  }) as unknown as FastifyInstance;
  const aggregator = new AggregatorRegistry();

  app.get("/healthz", async () => ({ status: "ok", workers: options.liveWorkers().length }));

  // Ready when every worker is: a load balancer should not send traffic to a half-started node.
  app.get("/readyz", async (_request, reply) => {
    const workers = options.liveWorkers();
    const answers = await Promise.all(
      workers.map((w) =>
        options.ask(w, "/readyz").then((a) => ({
          worker: w.id,
          pid: w.process.pid,
          status: a.statusCode,
          body: safeJson(a.body) as { reasons?: string[] } | undefined,
        })),
      ),
    );
    // The same shape as a single gateway's /readyz, with each worker's own answer added.
    const reasons: string[] = [];
    // While stopping, workers exit one by one: that is the whole story, not a list of failures.
    if (options.isStopping()) {
      reply.code(503);
      return { status: "not ready", reasons: ["shutting down"], workers: answers };
    }
    if (workers.length < options.expected)
      reasons.push(`${workers.length} of ${options.expected} workers ready`);
    for (const answer of answers) {
      const workerReasons = answer.body?.reasons ?? [];
      for (const reason of workerReasons) if (!reasons.includes(reason)) reasons.push(reason);
      if (answer.status !== 200 && workerReasons.length === 0)
        reasons.push(`worker ${answer.worker} not ready`);
    }
    const ready = reasons.length === 0;
    reply.code(ready ? 200 : 503);
    return { status: ready ? "ready" : "not ready", reasons, workers: answers };
  });

  app.get("/metrics", async (_request, reply) => {
    const metrics = await aggregator.clusterMetrics();
    reply.header("content-type", aggregator.contentType);
    return metrics;
  });

  // Every worker watches the same registry and builds the same catalog: any one can answer.
  for (const path of ["/admin/backends", "/admin/routes", "/admin/config", "/admin/config/schema"]) {
    app.get(path, async (request, reply) => {
      const worker = options.liveWorkers()[0];
      if (!worker) {
        reply.code(503);
        return { code: 14, message: "no worker is ready", details: [] };
      }
      const answer = await options.ask(worker, request.url);
      reply.code(answer.statusCode).header("content-type", answer.contentType);
      return answer.body;
    });
  }
  return app;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Runs in a worker: tells the supervisor when it listens, answers its admin questions from the
 * worker's own admin app (no socket: `inject`), and contributes its metrics to the cluster total.
 */
export function serveAsWorker(
  gateway: Pick<GatewayInternals, "adminApp" | "metricsRegistry">,
  publicUrl: string,
): void {
  // During shutdown the supervisor may already be gone: a failed send is not worth a crash.
  const send = (message: ToSupervisor): void => {
    if (process.connected) process.send?.(message, undefined, undefined, () => {});
  };
  // Constructing one installs prom-client's worker-side listener for the supervisor's metric requests.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([gateway.metricsRegistry]);
  process.on("message", (message: ToWorker) => {
    if (message?.type !== "admin-request") return;
    void gateway.adminApp.inject({ method: "GET", url: message.url }).then(
      (response) =>
        send({
          type: "admin-response",
          id: message.id,
          statusCode: response.statusCode,
          contentType: String(response.headers["content-type"] ?? "application/json"),
          body: response.body,
        } satisfies ToSupervisor),
      (error: unknown) =>
        send({
          type: "admin-response",
          id: message.id,
          statusCode: 500,
          contentType: "application/json",
          body: JSON.stringify({ code: 13, message: String(error), details: [] }),
        } satisfies ToSupervisor),
    );
  });
  send({ type: "ready", publicUrl });
}

export const isWorkerProcess = (): boolean => cluster.isWorker && process.env.REFRACT_WORKER === "1";
