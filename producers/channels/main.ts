// OpenClaw — the channels service: chat adapters, web chat, the HTTP API on :8080 and WebSocket on
// :8081. Configuration: src/config (PORT, WS_PORT, API_KEY, IDENTITY_LINKS_FILE, TELEGRAM_*,
// DISCORD_*, SLACK_*, WEBCHAT_*, KAFKA_BROKERS, SCHEMA_REGISTRY_URL, POSTGRES_*, REDIS_* ...).
import { createRuntime, installSignalHandlers, runMain } from '../../src/service/runtime.ts';
import { buildChannelsService, channelsRuntimeOptions } from './service.ts';

runMain(async () => {
  const runtime = await createRuntime(channelsRuntimeOptions);
  installSignalHandlers(runtime);
  const service = await buildChannelsService(runtime);
  await service.start();
});
