// Aureus OS — the policy consumer and its HTTP API. Configuration: src/config (POLICY_RULES_FILE,
// KAFKA_BROKERS, SCHEMA_REGISTRY_URL, POSTGRES_*, REDIS_*, VECTOR_DB_TYPE, PORT=5000 ...).
import { createRuntime, installSignalHandlers, runMain } from '../../src/service/runtime.ts';
import { buildPolicyService, policyRuntimeOptions } from './service.ts';

runMain(async () => {
  const runtime = await createRuntime(policyRuntimeOptions);
  installSignalHandlers(runtime);
  const service = await buildPolicyService(runtime);
  await service.start();
});
