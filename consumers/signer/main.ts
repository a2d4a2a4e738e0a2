// Bridge — the signer consumer and its HTTP API, and the audit consumer, whose checkpoints are
// signed with the same published, rotating key (docs/audit.md). Configuration: src/config
// (USE_KMS, KMS_KEY_ID, KMS_MODE, KMS_ENDPOINT, AWS_REGION, SIGNING_KEY_FILE, KEY_ROTATION_DAYS,
// APPROVAL_TTL_SECONDS, APPROVAL_AUDIENCE, IDENTITY_LINKS_FILE, KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
// POSTGRES_*, REDIS_*, PORT=3000 ...).
import { createRuntime, installSignalHandlers, runMain } from '../../src/service/runtime.ts';
import { auditRuntimeOptions, buildAuditService } from '../audit/service.ts';
import { buildSignerService, signerRuntimeOptions } from './service.ts';

runMain(async () => {
  const runtime = await createRuntime({
    ...signerRuntimeOptions,
    reads: [...new Set([...signerRuntimeOptions.reads, ...auditRuntimeOptions.reads])],
    writes: [...new Set([...signerRuntimeOptions.writes, ...auditRuntimeOptions.writes])],
    lagGroups: [...(signerRuntimeOptions.lagGroups ?? []), ...(auditRuntimeOptions.lagGroups ?? [])],
  });
  installSignalHandlers(runtime);
  const service = await buildSignerService(runtime);
  await service.start();
  const audit = await buildAuditService(runtime, { signer: service.keys });
  await audit.start();
});
