// The audit consumer as its own process (docs/audit.md §5). Checkpoints are signed with the key
// configured as for the signer (SIGNING_KEY_FILE, or USE_KMS/KMS_KEY_ID): run it with the signer's
// key so checkpoints verify against the published key set. A key no one has published yet (e.g. the
// ephemeral development key) is published on sentinel.signing-keys first. The preferred deployment
// hosts the consumer inside the signer process (buildAuditService with the signer's KeyManager).
import { newKeyRecord, rotationPolicyFromDays } from '../../src/approval/keys/rotation.ts';
import { createSigningBackend } from '../../src/approval/signers/index.ts';
import { SigningKeyPublished } from '../../src/contracts/events.ts';
import type { SigningKeyRecord } from '../../src/domain/types.ts';
import { buildHttpServer } from '../../src/http/server.ts';
import { newTrace } from '../../src/observability/trace.ts';
import { loadKeyTimeline } from '../../src/replay/run.ts';
import { createRuntime, installSignalHandlers, runMain } from '../../src/service/runtime.ts';
import { auditRuntimeOptions, buildAuditService } from './service.ts';

runMain(async () => {
  const runtime = await createRuntime({ service: 'cli', ...auditRuntimeOptions, reads: [...auditRuntimeOptions.reads, SigningKeyPublished], writes: [...auditRuntimeOptions.writes, SigningKeyPublished] });
  installSignalHandlers(runtime);
  const { config, logger } = runtime;
  const publish = async (record: SigningKeyRecord) => {
    await runtime.publisher.publish(SigningKeyPublished, record, { key: record.keyId, trace: newTrace() });
  };
  const backend = await createSigningBackend(config.signing, { publish });
  const published = await loadKeyTimeline({
    brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-audit-keys`, topicPrefix: config.kafka.topicPrefix, codec: runtime.codec, progress: null,
  });
  if (!published.keys.latest.entries.has(backend.root.keyId)) {
    await publish(newKeyRecord({ publicKey: backend.root.publicKey, origin: backend.root.origin, now: Date.now(), policy: rotationPolicyFromDays(config.signing.rotationDays) }));
    logger.info({ keyId: backend.root.keyId }, 'published the checkpoint signing key');
  }
  const service = await buildAuditService(runtime, { signer: backend.source });
  const http = buildHttpServer({
    service: 'audit', logger, metrics: runtime.metrics, apiKeys: config.security.apiKeys, bodyLimitBytes: config.http.bodyLimitBytes, readiness: runtime.readiness,
  });
  await http.listen({ host: config.http.host, port: config.http.port });
  runtime.onShutdown(async () => { await http.close(); });
  await service.start();
});
