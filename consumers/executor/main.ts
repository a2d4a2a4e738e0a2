// The executor: verifies every approval against the published keys and runs it exactly once.
// Configuration: src/config (APPROVAL_AUDIENCE, CLOCK_SKEW_SECONDS, COMMAND_ALLOWLIST,
// COMMAND_EXECUTE, KAFKA_BROKERS, SCHEMA_REGISTRY_URL, POSTGRES_*, REDIS_*, PORT=7000 ...).
import { createRuntime, installSignalHandlers, runMain } from '../../src/service/runtime.ts';
import { buildExecutorService, executorRuntimeOptions } from './service.ts';

runMain(async () => {
  const runtime = await createRuntime(executorRuntimeOptions);
  installSignalHandlers(runtime);
  const service = await buildExecutorService(runtime);
  await service.start();
});
