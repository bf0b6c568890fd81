// Composition root: the one module that knows every other. Builds the gateway from a resolved config —
// key, TLS, audit recorder, identity, policy, pipeline, listeners — and tears it down in reverse.
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
import { createLogger, type Logger } from "./core/log.ts";
import type { ConnectionInfo } from "./core/session.ts";
import { createAuthenticator } from "./identity/authenticator.ts";
import { loadOrCreateGatewayKey } from "./identity/gateway-key.ts";
import { instanceId } from "./instance-id.ts";
import { MaskingEngine } from "./masking/engine.ts";
import { loadOrCreateHmacKey } from "./masking/hmac-key.ts";
import { loadOrCreateTlsMaterial } from "./net/tls-material.ts";
import { type ConnectionEntry, createPipeline } from "./pipeline/gateway.ts";
import { Metrics } from "./pipeline/metrics.ts";
import { policyInputEvent } from "./pipeline/policy-input-event.ts";
import { siemRedactor } from "./pipeline/siem-redact.ts";
import { createDecider } from "./policy/decider.ts";
import { PolicyEngine } from "./policy/engine.ts";
import { watchBundle } from "./policy/watch.ts";
import { createHttpGateway } from "./protocols/http/server.ts";
import type { HttpTarget } from "./protocols/http/target.ts";
import type { ClassificationView } from "./protocols/postgres/connection-classification.ts";
import { startPostgresServer } from "./protocols/postgres/server.ts";
import type { PostgresTarget } from "./protocols/postgres/target.ts";
import { createSqlClassifier } from "./sql/classifier.ts";

export const VERSION = "0.1.0";

export interface RunningGateway {
  readonly postgresPort: number;
  readonly httpPort: number;
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
}

export function storeUrl(config: Config): string {
  const s = config.audit.store;
  return s.kind === "embedded" ? `sqlite:${s.path}` : s.url.reveal();
}

export async function startGateway(config: Config, opts: StartOptions): Promise<RunningGateway> {
  const logger = opts.logger ?? createLogger(config.log.level);
  const key = await loadOrCreateGatewayKey(config.dataDir);
  const logId = instanceId(config.dataDir);
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
  recorder.onStateChange((s) =>
    s.writable
      ? logger.info("audit store writable again")
      : logger.error("audit store unavailable", { reason: s.reason }),
  );

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
    tableLabels: (name) => config.connections.find((c) => c.name === name)?.tableLabels,
    approvers: (name) => config.connections.find((c) => c.name === name)?.access.approvers,
    logger,
    // F4: the input each decision was evaluated on, once per evaluation, for `custos policy explain`.
    onEvaluated: (e) => recorder.event(policyInputEvent(e)),
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

  // Links for approvers: listen.public_url, or listen.http (served without TLS, so derived links say http).
  const links = publicBase(config.listen, { tls: false });
  if (links.warning) logger.warn(links.warning);

  // Approvals share the audit store; a restarted instance first abandons the statements it held.
  const approvalRepo = await openApprovalRepository(storeUrl(config));
  const webhook = config.approvals.webhook;
  const approvals = new ApprovalService({
    repo: approvalRepo,
    logId,
    connections: config.connections.map((c) => ({ name: c.name, allowGroups: c.allowGroups, ...c.access })),
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
  });

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
  const app = createHttpApp(
    {
      warnings: () => evidence.warnings(),
      notReady() {
        const problems: string[] = [];
        if (!recorder.writable()) problems.push("audit store not writable");
        if (!policy.hash) problems.push("no policy bundle loaded");
        return problems;
      },
      metrics: () =>
        metrics.render(recorder.stats(), {
          policyLoaded: policy.hash !== null,
          policyHash: policy.hash,
          ...(approvals ? { pendingApprovals: approvals.heldCount() } : {}),
          ...(siem ? { siem: siem.streamer.stats() } : {}),
        }) + evidence.metrics(),
      ...(siem ? { detail: () => ({ siem: siem.streamer.stats() }) } : {}),
      api: [approvalsApi({ approvals, authenticator })],
    },
    { admin: admin.deps },
  );
  // HTTP connections share the listener: /c/<name>/… goes to the HTTP gateway, the rest to the admin app.
  const httpGateway = createHttpGateway({ gateway: pipeline, masking, logger, tls: config.tls !== null });
  const http = Bun.serve({
    hostname: config.listen.http.host,
    port: config.listen.http.port,
    fetch: (req, server) => httpGateway.fetch(req, server) ?? app.fetch(req),
    websocket: httpGateway.websocket,
    // Bodies stream through (bounded buffers only for policy and masking); Bun's 128 MB default would cut
    // legitimate uploads.
    maxRequestBodySize: 2 ** 34,
  });

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
      connections: [...config.connections, ...config.httpConnections].map((c) => c.name),
    },
  });
  logger.info("gateway started", {
    postgres: `${config.listen.postgres.host}:${pg.port}`,
    http: `${config.listen.http.host}:${http.port}`,
    log_id: logId,
    policy: policy.hash,
  });

  let stopping: Promise<void> | null = null;
  return {
    postgresPort: pg.port,
    classify: (name) => pg.classify(name),
    httpPort: http.port ?? 0,
    logId,
    recorder,
    policy,
    approvals,
    reloadPolicy,
    stop(graceMs = 0) {
      stopping ??= (async () => {
        watcher?.close();
        await pg.stop(graceMs);
        pipeline.terminateAll(new CustosError("gateway.shutting_down", "the gateway is shutting down"));
        await httpGateway.close();
        http.stop(true);
        await evidence.stop();
        await admin.close();
        await approvals.stop();
        await approvalRepo.close();
        recorder.event({ type: "gateway.stop", time: Date.now(), data: { log_id: logId } });
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
