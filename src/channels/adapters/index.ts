// Builds the platform adapters whose credentials are configured. Values come in as parameters
// (from loadConfig), never from process.env here.
import type { Config } from '../../config/index.ts';
import type { Logger } from '../../observability/log.ts';
import type { ChannelAdapter } from '../types.ts';
import { createDiscordAdapter } from './discord.ts';
import { createSlackAdapter } from './slack.ts';
import { createTelegramAdapter } from './telegram.ts';

export { createWebhookListener, readRawBody } from './common.ts';
export { createDiscordAdapter, type DiscordAdapterOptions } from './discord.ts';
export { createSlackAdapter, type SlackAdapterOptions } from './slack.ts';
export { createTelegramAdapter, type TelegramAdapterOptions } from './telegram.ts';

export interface EnabledAdaptersOptions {
  bots: Config['bots'];
  log: Logger;
  clock?: () => number;
  /**
   * Public HTTPS base URL of this service (e.g. https://sentinel.example.com). With it and
   * TELEGRAM_WEBHOOK_SECRET, Telegram uses a webhook at <base>/telegram/webhook; without, long polling.
   */
  publicBaseUrl?: string | null;
}

/**
 * One adapter per platform with credentials: Telegram (TELEGRAM_BOT_TOKEN), Discord
 * (DISCORD_BOT_TOKEN + DISCORD_PUBLIC_KEY), Slack (SLACK_BOT_TOKEN + SLACK_SIGNING_SECRET or
 * SLACK_APP_TOKEN). loadConfig already refuses incomplete combinations.
 */
export function createEnabledAdapters(options: EnabledAdaptersOptions): ChannelAdapter[] {
  const { bots } = options;
  const clock = options.clock ?? Date.now;
  const adapters: ChannelAdapter[] = [];
  if (bots.telegram.token !== '') {
    const base = options.publicBaseUrl?.replace(/\/+$/, '') ?? '';
    const webhook = base !== '' && bots.telegram.webhookSecret !== ''
      ? { url: `${base}/telegram/webhook`, secretToken: bots.telegram.webhookSecret, path: '/telegram/webhook' }
      : null;
    adapters.push(createTelegramAdapter({
      token: bots.telegram.token, apiRoot: bots.telegram.apiRoot, webhook, clock, log: options.log.child({ channel: 'telegram' }),
    }));
  }
  if (bots.discord.token !== '') {
    adapters.push(createDiscordAdapter({
      token: bots.discord.token, publicKey: bots.discord.publicKey, apiRoot: bots.discord.apiRoot, clock,
      log: options.log.child({ channel: 'discord' }),
    }));
  }
  if (bots.slack.botToken !== '') {
    adapters.push(createSlackAdapter({
      botToken: bots.slack.botToken, signingSecret: bots.slack.signingSecret, appToken: bots.slack.appToken,
      apiRoot: bots.slack.apiRoot, clock, log: options.log.child({ channel: 'slack' }),
    }));
  }
  return adapters;
}
