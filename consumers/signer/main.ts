// Bridge — the signer consumer and its HTTP API. Configuration: src/config (USE_KMS, KMS_KEY_ID,
// KMS_MODE, KMS_ENDPOINT, AWS_REGION, SIGNING_KEY_FILE, KEY_ROTATION_DAYS, APPROVAL_TTL_SECONDS,
// APPROVAL_AUDIENCE, IDENTITY_LINKS_FILE, KAFKA_BROKERS, SCHEMA_REGISTRY_URL, POSTGRES_*, REDIS_*, PORT=3000 ...).
import { createRuntime, installSignalHandlers, runMain } from '../../src/service/runtime.ts';
import { buildSignerService, signerRuntimeOptions } from './service.ts';

runMain(async () => {
  const runtime = await createRuntime(signerRuntimeOptions);
  installSignalHandlers(runtime);
  const service = await buildSignerService(runtime);
  await service.start();
});
