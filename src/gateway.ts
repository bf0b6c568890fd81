// Composition root: the one module that knows every other. Builds the gateway from a resolved config —
// key, TLS, audit recorder, identity, policy, pipeline, listeners — and tears it down in reverse.
import { existsSync } from "node:fs";
import { approvalsPort } from "./api/admin/approvals-adapter.ts";
import { openAdmin } from "./api/admin/wire.ts";
import { approvalsApi } from "./api/approvals.ts";
import { createHttpApp } from "./api/http.ts";
import { openApprovalRepository } from "./approvals/repository.ts";
import { ApprovalService } from "./approvals/service.ts";
import { createWebhook } from "./approvals/webhook.ts";
import { EvidenceJobs } from "./audit/evidence-jobs.ts";
import { Recorder } from "./audit/recorder.ts";
import { openSiem } from "./audit/siem/open.ts";
import { publicKeyFingerprint } from "./audit/trust.ts";
import { createAnchorPublisher, ownExpectations, retentionPolicy } from "./audit-wiring.ts";
import { publicBase } from "./config/public-url.ts";
import type { Config } from "./config/types.ts";
import { CustosError } from "./core/errors.ts";
import { startGcPacer } from "./core/gc-pacer.ts";
import { createLogger, type Logger } from "./core/log.ts";
import type { ConnectionInfo } from "./core/session.ts";
import { createAuthenticator } from "./identity/authenticator.ts";
import { loadOrCreateGatewayKey } from "./identity/gateway-key.ts";
import { instanceId } from "./instance-id.ts";
import { MaskingEngine } from "./masking/engine.ts";
import { loadOrCreateHmacKey } from "./masking/hmac-key.ts";
import { bindOrExplain, listenersShared } from "./net/listen.ts";
import { loadOrCreateTlsMaterial } from "./net/tls-material.ts";
import { type ConnectionEntry, createPipeline } from "./pipeline/gateway.ts";
import { Metrics } from "./pipeline/metrics.ts";
import { policyInputLog } from "./pipeline/policy-input-event.ts";
import { renderProcessMetrics } from "./pipeline/process-metrics.ts";
import { siemRedactor } from "./pipeline/siem-redact.ts";
import { createDecider } from "./policy/decider.ts";
import { PolicyEngine } from "./policy/engine.ts";
import { watchBundle } from "./policy/watch.ts";
import { createHttpGateway } from "./protocols/http/server.ts";
import type { HttpTarget } from "./protocols/http/target.ts";
import type { ClassificationView } from "./protocols/postgres/connection-classification.ts";
import { startPostgresServer } from "./protocols/postgres/server.ts";
import type { PostgresTarget } from "./protocols/postgres/target.ts";
import { protocols, type RunningProtocol } from "./protocols/registry.ts";
import { createSqlClassifier } from "./sql/classifier.ts";
import { mysqlDecider } from "./sql/mysql-decider.ts";
import { buildInfo, VERSION } from "./version.ts";
import { type ControlServer, forwardCancel, peerMetrics, startControl } from "./workers/control.ts";
import { mergeWorkerMetrics } from "./workers/metrics-merge.ts";
import { controlSocketPath, workerLogId } from "./workers/worker-env.ts";

export interface RunningGateway {
  readonly postgresPort: number;
  readonly httpPort: number;
  /** Bound ports of registered protocols' own listeners, by connection type (protocols/registry.ts). */
  readonly protocolPorts: Readonly<Record<string, number>>;
  readonly logId: string;
  readonly recorder: Recorder;
  readonly policy: PolicyEngine;
  readonly approvals: ApprovalService;
  /** Reloads the policy bundle (SIGHUP). */
  reloadPolicy(): Promise<boolean>;
  /** Runs a PostgreSQL connection's classification scan now; null for an unknown connection. */
  classify(connection: string): Promise<ClassificationView | null>;
  /** Drains: stop accepting, end sessions after graceMs, flush the recorder, final checkpoint. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Policy bundle to load; null runs with none loaded, which refuses every statement (fail closed). */
  policyBundle: string | null;
  watchPolicy?: boolean;
  /** One of `count` worker processes (workers/supervisor.ts): its own audit log, cancel keys, control socket. */
  worker?: { id: number; count: number };
  /** How often approval changes are polled for (default: 2 s beside NOTIFY, 250 ms without); tests that
   * must prove a change arrived by NOTIFY set it past their own length. */
  approvalsPollMs?: number;
}

export function storeUrl(config: Config): string {
  const s = config.audit.store;
  return s.kind === "embedded" ? `sqlite:${s.path}` : s.url.reveal();
}

/** Every connection the config defines, of every protocol: `serve` refuses a config with none. */
export function configuredConnections(config: Config): string[] {
  return [...config.connections, ...config.httpConnections, ...config.protocolConnections].map((c) => c.name);
}

export async function startGateway(config: Config, opts: StartOptions): Promise<RunningGateway> {
  const logger = opts.logger ?? createLogger(config.log.level);
  // A configured bundle that is not there is a mistake in the deployment, not a policy: refuse to start
  // (a bundle that is there but cannot be loaded still starts, refusing everything, with /healthz 503).
  if (opts.policyBundle && !existsSync(opts.policyBundle)) {
    throw new CustosError("policy.unavailable", `policy bundle ${opts.policyBundle} does not exist`, {
      bundle: opts.policyBundle,
    });
  }
  const key = await loadOrCreateGatewayKey(config.dataDir);
  const worker = opts.worker && opts.worker.count > 1 ? opts.worker : null;
  // Each worker appends to its own Merkle log (one writer per log keeps its chain and fsync batching sound).
  const logId = worker ? workerLogId(instanceId(config.dataDir), worker.id) : instanceId(config.dataDir);
  const tls = await loadOrCreateTlsMaterial({
    certFile: config.tls?.certFile,
    keyFile: config.tls?.keyFile,
    dataDir: config.dataDir,
  });

  // Fail closed: without a writable audit store the gateway does not start.
  const recorder = await Recorder.start({
    storeUrl: storeUrl(config),
    logId,
    signer: { privateKeyPkcs8: key.pkcs8, publicKeyRaw: key.publicRaw },
  });
  // Every signed checkpoint (and the key) goes to the anchors outside the host, off the commit path.
  const anchors = createAnchorPublisher(config, logger);
  recorder.onCheckpoint((cp, publicKey) => anchors.publish(cp, publicKey));
  logger.info("audit signing key", { log_id: logId, fingerprint: publicKeyFingerprint(key.publicRaw) });
  // The recorder closing at drain is not an outage: a clean shutdown logs no error.
  let draining = false; // set just before the recorder is closed
  recorder.onStateChange((s) => {
    if (draining) return;
    if (s.writable) logger.info("audit store writable again");
    else logger.error("audit store unavailable", { reason: s.reason });
  });

  const policy = new PolicyEngine({ logger });
  if (opts.policyBundle) {
    const loaded = await policy.load(opts.policyBundle);
    if (!loaded.ok)
      logger.error("policy bundle refused; every statement will be denied", { error: loaded.error.message });
  } else {
    logger.warn("no policy bundle configured; every statement will be denied");
  }
  const classifier = await createSqlClassifier();
  const decider = createDecider({
    engine: policy,
    classify: (text) => classifier.classify(text),
    ...mysqlDecider(),
    tableLabels: (name) => config.connections.find((c) => c.name === name)?.tableLabels,
    approvers: (name) =>
      [...config.connections, ...config.protocolConnections].find((c) => c.name === name)?.access.approvers,
    logger,
    // F4: the input each decision was evaluated on, once per session and input, for `custos policy explain`.
    onEvaluated: policyInputLog((event) => recorder.event(event)),
  });

  const authenticator = createAuthenticator({
    issuers: config.identity.issuers,
    agentGroups: config.identity.agentGroups,
    gatewayKey: key,
    gatewayMaxTtlMs: config.identity.gatewayTokens.maxTtlMs,
    maxTokenLifetimeMs: config.identity.maxTokenLifetimeMs,
  });

  const connections: ConnectionEntry[] = config.connections.map((c) => ({
    info: {
      name: c.name,
      type: c.type,
      labels: c.labels,
      target: {
        host: c.target.host,
        port: c.target.port,
        database: c.target.database,
        user: c.target.user,
        password: c.target.password ?? undefined,
        tls: c.target.tls,
        ca: c.target.ca ?? undefined,
        classification: {
          columnLabels: c.columnLabels,
          scan: {
            enabled: c.classification.scan,
            intervalMs: c.classification.intervalMs,
            sampleRows: c.classification.sampleRows,
            maxTables: c.classification.maxTables,
            maxValueBytes: 4096,
          },
        },
      } satisfies PostgresTarget,
    },
    allowGroups: c.allowGroups,
    idleTimeoutMs: c.idleTimeoutMs,
    maxSessionMs: c.maxSessionMs,
    maxSessionsPerIdentity: c.maxSessionsPerIdentity,
    targetAccount: { user: c.target.user, database: c.target.database },
  }));
  for (const c of config.httpConnections) {
    connections.push({
      info: {
        name: c.name,
        type: "http",
        labels: c.labels,
        target: {
          url: c.target,
          inject: c.inject,
          tls: c.tls,
          timeoutMs: c.timeoutMs,
          limits: c.limits,
          relay: c.relay,
        } satisfies HttpTarget,
      },
      allowGroups: c.allowGroups,
      idleTimeoutMs: c.idleTimeoutMs,
      maxSessionMs: c.maxSessionMs,
      // The service account is the injected credential's; its value is never recorded, its kind is.
      targetAccount: { user: c.inject?.kind ?? "none", database: c.target },
    });
  }

  for (const c of config.protocolConnections) {
    connections.push({
      info: { name: c.name, type: c.type, labels: c.labels, target: c.target },
      allowGroups: c.allowGroups,
      idleTimeoutMs: c.idleTimeoutMs,
      maxSessionMs: c.maxSessionMs,
      maxSessionsPerIdentity: c.maxSessionsPerIdentity,
      targetAccount: c.targetAccount,
    });
  }

  // Links for approvers: listen.public_url, or listen.http (served without TLS, so derived links say http).
  const links = publicBase(config.listen, { tls: false });
  if (links.warning) logger.warn(links.warning);

  // Approvals share the audit store; a restarted instance first abandons the statements it held.
  const approvalRepo = await openApprovalRepository(storeUrl(config));
  const webhook = config.approvals.webhook;
  const approvals = new ApprovalService({
    ...(opts.approvalsPollMs ? { pollMs: opts.approvalsPollMs } : {}),
    repo: approvalRepo,
    logId,
    connections: [...config.connections, ...config.protocolConnections].map((c) => ({
      name: c.name,
      allowGroups: c.allowGroups,
      ...c.access,
    })),
    event: (e) => recorder.event(e),
    webhook: webhook ? createWebhook({ url: webhook.url, secret: webhook.secret.reveal(), logger }) : null,
    logger,
    apiBase: links.url,
  });
  await approvals.start();

  const metrics = new Metrics();
  const pipeline = createPipeline({
    authenticator,
    recorder,
    decider,
    connections,
    auditSync: config.audit.sync,
    metrics,
    logger,
    approvals,
    maxSessions: config.limits.maxSessions,
  });

  // One masking engine for every protocol: the same detectors, and the same keyed hash for joins.
  const masking = new MaskingEngine({
    hmacKey: loadOrCreateHmacKey(config.masking.hmacKey, config.dataDir),
    detectors: config.masking.detectors,
  });
  // SIEM sinks stream what the recorder committed, from durable cursors: never on the data path.
  const siem = await openSiem({
    sinks: config.siem,
    storeUrl: storeUrl(config),
    logId,
    publicKey: key.publicRaw,
    logger,
    version: VERSION,
    redact: siemRedactor(masking),
  });
  const pg = startPostgresServer({
    listen: config.listen.postgres,
    gateway: pipeline,
    tls: { cert: tls.cert, key: tls.key },
    logger,
    masking,
    maxClientMessage: config.limits.maxMessage,
    maxMaskedServerMessage: config.limits.maxMaskedServerMessage,
    authTimeoutMs: config.limits.authTimeoutMs,
    agentTimeouts: {
      statementTimeoutMs: config.limits.agentStatementTimeoutMs,
      idleInTransactionTimeoutMs: config.limits.agentIdleInTransactionTimeoutMs,
    },
    connections: connections
      .filter((c) => c.info.type === "postgres")
      .map((c) => c.info as ConnectionInfo<PostgresTarget>),
    ...(worker
      ? {
          workers: {
            index: worker.id - 1,
            count: worker.count,
            forward: (owner: number, pid: number, secret: number) =>
              void forwardCancel(controlSocketPath(config.dataDir, owner + 1), pid, secret).then(
                (matched) => logger.info("cancel forwarded", { to_worker: owner + 1, matched }),
                (err) => logger.warn("cancel forward failed", { to_worker: owner + 1, error: String(err) }),
              ),
          },
        }
      : {}),
  });

  // Registered protocols (protocols/registry.ts), each given only the pipeline's contract and shared engines.
  let ports = { postgres: pg.port, http: 0, protocols: {} as Readonly<Record<string, number>> };
  const running: { type: string; protocol: RunningProtocol }[] = [];
  for (const module of protocols) {
    const mine = connections.filter((c) => c.info.type === module.type).map((c) => c.info);
    if (mine.length === 0 && !module.startWithoutConnections) continue;
    const protocol = await module.start(
      {
        gateway: pipeline,
        masking,
        logger,
        tls: { cert: tls.cert, key: tls.key },
        dataDir: config.dataDir,
        listen: config.listen.protocols[module.type] ?? null,
        limits: { maxMessage: config.limits.maxMessage, authTimeoutMs: config.limits.authTimeoutMs },
        endpoints: () => ports,
        discovery: { publicUrl: links.url, issuers: config.identity.issuers.map((i) => i.issuer) },
      },
      mine,
    );
    running.push({ type: module.type, protocol });
  }
  const protocolPorts: Record<string, number> = {};
  for (const r of running) if (r.protocol.port !== null) protocolPorts[r.type] = r.protocol.port;

  // Admin API and console: a read handle on the store, the console cookie key, connections without secrets.
  const admin = await openAdmin({
    config,
    storeUrl: storeUrl(config),
    authenticator,
    audit: recorder,
    policy,
    logId,
    gatewayPublicKey: key.publicRaw,
    approvals: approvalsPort(approvals),
    classification: { view: (name) => pg.classification(name) },
    // The integrity panel also checks this gateway's log reaches the head signed into data_dir.
    verifyExpect: () => ownExpectations(config),
  });
  const evidence = new EvidenceJobs({
    store: admin.deps.store,
    logId,
    policy: retentionPolicy(config),
    pruneIntervalMs: config.audit.pruneIntervalMs,
    maxSizeBytes: config.audit.maxSizeBytes,
    anchors,
    record: async (e) => {
      recorder.event(e);
      await recorder.durable();
    },
    onError: (what, err) => logger.error(what, { error: err instanceof Error ? err.message : String(err) }),
  });
  evidence.start();
  const ownMetrics = () =>
    metrics.render(recorder.stats(), {
      policyLoaded: policy.hash !== null,
      policyHash: policy.hash,
      ...(approvals ? { pendingApprovals: approvals.heldCount() } : {}),
      ...(siem ? { siem: siem.streamer.stats() } : {}),
    }) +
    evidence.metrics() +
    renderProcessMetrics(buildInfo());
  // Workers: the scrape lands on one of them, which answers for all (workers/metrics-merge.ts).
  const control: ControlServer | null = worker
    ? startControl(controlSocketPath(config.dataDir, worker.id), {
        cancel: (pid, secret) => pg.cancelForwarded(pid, secret),
        metrics: ownMetrics,
      })
    : null;
  const allMetrics = async () => {
    if (!worker) return ownMetrics();
    const parts = await Promise.all(
      Array.from({ length: worker.count }, async (_, i) => {
        const id = i + 1;
        const text =
          id === worker.id ? ownMetrics() : await peerMetrics(controlSocketPath(config.dataDir, id));
        return { worker: id, text };
      }),
    );
    return mergeWorkerMetrics(parts);
  };
  const app = createHttpApp(
    {
      warnings: () => evidence.warnings(),
      notReady() {
        const problems: string[] = [];
        if (!recorder.writable()) problems.push("audit store not writable");
        if (!policy.hash) problems.push("no policy bundle loaded");
        return problems;
      },
      metrics: allMetrics,
      ...(siem ? { detail: () => ({ siem: siem.streamer.stats() }) } : {}),
      api: [approvalsApi({ approvals, authenticator })],
    },
    { admin: admin.deps },
  );
  // HTTP connections share the listener: /c/<name>/… goes to the HTTP gateway, the rest to the admin app.
  const httpGateway = createHttpGateway({ gateway: pipeline, masking, logger, tls: config.tls !== null });
  const http = bindOrExplain("listen.http", config.listen.http, () =>
    Bun.serve({
      hostname: config.listen.http.host,
      port: config.listen.http.port,
      reusePort: listenersShared(),
      fetch: (req, server) => {
        const gatewayResponse = httpGateway.fetch(req, server);
        if (gatewayResponse) return gatewayResponse;
        for (const r of running) {
          const served = r.protocol.fetch?.(req, server);
          if (served) return served;
        }
        return app.fetch(req);
      },
      websocket: httpGateway.websocket,
      // Bodies stream through (bounded buffers only for policy and masking); Bun's 128 MB default would cut
      // legitimate uploads.
      maxRequestBodySize: 2 ** 34,
    }),
  );

  ports = { postgres: pg.port, http: http.port ?? 0, protocols: protocolPorts };

  const reloadPolicy = async () => {
    const r = await policy.reload();
    metrics.countPolicyReload(r.ok);
    if (r.ok) logger.info("policy bundle loaded", { hash: r.hash });
    else logger.error("policy bundle refused; keeping the previous one", { error: r.error.message });
    recorder.event({
      type: "policy.reload",
      time: Date.now(),
      data: r.ok ? { ok: true, bundle: r.hash } : { ok: false, error: r.error.message, bundle: policy.hash },
    });
    return r.ok;
  };
  const watcher =
    opts.policyBundle && opts.watchPolicy ? watchBundle(opts.policyBundle, () => void reloadPolicy()) : null;

  recorder.event({
    type: "gateway.start",
    time: Date.now(),
    data: {
      version: VERSION,
      log_id: logId,
      config_hash: config.configHash,
      config_file: config.source,
      policy_bundle: policy.hash,
      tls_self_signed: tls.selfSigned,
      tls_fingerprint: tls.fingerprint256,
      connections: configuredConnections(config),
      ...(worker ? { worker: worker.id, workers: worker.count } : {}),
    },
  });
  logger.info(worker ? "worker started" : "gateway started", {
    version: VERSION,
    commit: buildInfo().commit,
    postgres: `${config.listen.postgres.host}:${pg.port}`,
    http: `${config.listen.http.host}:${http.port}`,
    ...Object.fromEntries(
      Object.entries(protocolPorts).map(([type, port]) => [
        type,
        `${config.listen.protocols[type]?.host}:${port}`,
      ]),
    ),
    log_id: logId,
    policy: policy.hash,
  });

  const stopGcPacer = startGcPacer();
  let stopping: Promise<void> | null = null;
  return {
    postgresPort: pg.port,
    classify: (name) => pg.classify(name),
    httpPort: http.port ?? 0,
    protocolPorts,
    logId,
    recorder,
    policy,
    approvals,
    reloadPolicy,
    stop(graceMs = 0) {
      stopping ??= (async () => {
        stopGcPacer();
        watcher?.close();
        await Promise.all([pg.stop(graceMs), ...running.map((r) => r.protocol.stop(graceMs))]);
        control?.stop();
        pipeline.terminateAll(new CustosError("gateway.shutting_down", "the gateway is shutting down"));
        await httpGateway.close();
        http.stop(true);
        await evidence.stop();
        await admin.close();
        await approvals.stop();
        await approvalRepo.close();
        recorder.event({ type: "gateway.stop", time: Date.now(), data: { log_id: logId } });
        draining = true;
        await recorder.close();
        // The final checkpoint (signed at close) reaches the anchors before the process goes.
        await anchors.close();
        await siem?.close();
        logger.info("gateway stopped");
      })();
      return stopping;
    },
  };
}
