// The executor service run as a child process by tests that kill it (SIGKILL).
// env: the service's variables (TOPIC_PREFIX, POSTGRES_DB, INSTANCE_ID ...), plus
//      CRASH_BEFORE_COMMIT=1 to SIGKILL itself after the PostgreSQL commit of a batch with outputs
//      and before the Kafka transaction that carries its outputs and offsets is committed.
import { buildExecutorService, executorRuntimeOptions } from '../../consumers/executor/service.ts';
import { createRuntime } from '../../src/service/runtime.ts';

const runtime = await createRuntime(executorRuntimeOptions);
const service = await buildExecutorService(runtime, {
  ...(process.env.CRASH_BEFORE_COMMIT === '1'
    ? { beforeCommit: async ({ outputs }) => { if (outputs > 0) { process.stdout.write(`crashing after ${outputs} outputs\n`); process.kill(process.pid, 'SIGKILL'); } } }
    : {}),
});
process.on('SIGTERM', () => { void runtime.shutdown('SIGTERM').then(() => process.exit(0)); });
await service.start();
await service.consumer.joined();
process.stdout.write('ready\n');
