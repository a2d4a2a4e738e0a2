import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the channels service ("OpenClaw"). */
export const CHANNEL_CODES = {
  SNT_CHANNEL_UNKNOWN: { status: 404, retriable: false, summary: 'No such channel, or it is not enabled.' },
  SNT_CHANNEL_FORGED_CALLBACK: { status: 401, retriable: false, summary: 'A platform callback failed its signature or secret-token check.' },
  SNT_CHANNEL_STALE_CALLBACK: { status: 401, retriable: false, summary: 'A signed platform callback is older (or newer) than the allowed window; it may be a replay.' },
  SNT_CHANNEL_DELIVERY_FAILED: { status: 502, retriable: true, summary: 'The chat platform refused or failed to deliver a message, prompt or edit.' },
} as const satisfies Record<string, ErrorCodeSpec>;
