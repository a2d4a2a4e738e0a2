// Web chat across replicas. A person's sockets live on one (or a few) replicas, while any replica
// may consume the reply meant for them. Presence in Redis says which replicas hold a web
// identity's sockets; the consuming replica delivers locally when it holds one, and publishes the
// delivery to the inboxes of the other holders (Redis pub/sub). A reply for someone connected
// nowhere waits in PostgreSQL (delivery status "waiting") and is handed over at their next
// sign-in, with every prompt still pending for them.
import type { Principal, ApprovalPrompt } from '../../src/domain/types.ts';
import type { WebChatAdapter } from '../../src/channels/webchat/server.ts';
import type { PromptRef } from '../../src/channels/types.ts';
import type { Logger } from '../../src/observability/log.ts';
import type { ChannelSessions, WebFrameMessage } from './sessions.ts';
import type { ChannelsStore } from './store.ts';

const RECENT_PER_USER = 200;
const RECENT_USERS = 10_000;

export function webPromptRef(webUserId: string, decisionId: string): PromptRef {
  return { channel: 'web', conversationId: webUserId, messageId: `web:${decisionId}`, decisionId };
}

export interface WebBridgeOptions {
  web: WebChatAdapter;
  sessions: ChannelSessions;
  store: ChannelsStore;
  log: Logger;
  clock: () => number;
  /** Presence refresh interval. Default: a third of the presence TTL. */
  refreshMs?: number;
}

export class WebChatBridge {
  private readonly web: WebChatAdapter;
  private readonly sessions: ChannelSessions;
  private readonly store: ChannelsStore;
  private readonly log: Logger;
  private readonly clock: () => number;
  /** Web identities with sockets here, and how many. */
  private readonly held = new Map<string, number>();
  /** Reply ids recently shown to each identity here: the hand-over at sign-in and a fan-out message may race. */
  private readonly recent = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | null = null;
  /** Presence changes are applied one at a time, in the order the sockets changed. */
  private presenceChain: Promise<void> = Promise.resolve();

  constructor(options: WebBridgeOptions) {
    this.web = options.web;
    this.sessions = options.sessions;
    this.store = options.store;
    this.log = options.log;
    this.clock = options.clock;
    const refreshMs = options.refreshMs ?? Math.max(1000, (options.sessions.presenceTtl * 1000) / 3);
    this.timer = setInterval(() => {
      void this.sessions.refresh(this.held).catch((error: unknown) => this.log.warn({ err: error }, 'webchat: presence refresh failed'));
    }, refreshMs);
    this.timer.unref();
  }

  /** Sessions of this identity on this replica. */
  heldHere(webUserId: string): number {
    return this.held.get(webUserId) ?? 0;
  }

  private async otherHolders(webUserId: string): Promise<string[]> {
    return (await this.sessions.holders(webUserId)).filter((id) => id !== this.sessions.instanceId);
  }

  /** Shows a reply here unless this identity already saw it here; true if some session got it. */
  private async showText(webUserId: string, replyId: string, text: string): Promise<boolean> {
    if (this.web.sessionsOf(webUserId) === 0) return false;
    let seen = this.recent.get(webUserId);
    if (seen?.has(replyId)) return true;
    if (!seen) {
      if (this.recent.size >= RECENT_USERS) this.recent.delete(this.recent.keys().next().value!);
      seen = new Set();
      this.recent.set(webUserId, seen);
    }
    seen.add(replyId);
    if (seen.size > RECENT_PER_USER) seen.delete(seen.values().next().value!);
    await this.web.sendText({ kind: 'conversation', conversationId: webUserId }, text);
    return true;
  }

  // ------------------------------------------------------------------------------------------
  // Called by the deliverer, on whichever replica consumed the reply

  /** "delivered" when shown here; "waiting" until a holder (or the next sign-in) shows it. */
  async deliverText(webUserId: string, replyId: string, text: string): Promise<'delivered' | 'waiting'> {
    const others = await this.otherHolders(webUserId);
    for (const instance of others) await this.sessions.publish(this.sessions.inbox(instance), { op: 'text', webUserId, replyId, text });
    const here = await this.showText(webUserId, replyId, text);
    if (here) await this.store.markWebDelivered(replyId, webUserId);
    return here ? 'delivered' : 'waiting';
  }

  /** Prompts are re-sent at every sign-in while pending, so "waiting" only says nobody saw it yet. */
  async deliverPrompt(webUserId: string, prompt: ApprovalPrompt): Promise<'delivered' | 'waiting'> {
    const others = await this.otherHolders(webUserId);
    for (const instance of others) await this.sessions.publish(this.sessions.inbox(instance), { op: 'prompt', webUserId, prompt });
    const here = this.web.sessionsOf(webUserId) > 0;
    if (here) await this.web.sendPrompt({ kind: 'user', channelUserId: webUserId }, prompt);
    return here || others.length > 0 ? 'delivered' : 'waiting';
  }

  /** Every replica updates the card in its open sessions and forgets the prompt once decided. */
  async updatePrompt(webUserIds: string[], prompt: ApprovalPrompt): Promise<void> {
    await this.sessions.publish(this.sessions.broadcastChannel, { op: 'update', webUserIds, prompt });
  }

  // ------------------------------------------------------------------------------------------
  // This replica's inbox and the broadcast channel

  async onFrame(message: WebFrameMessage): Promise<void> {
    switch (message.op) {
      case 'text':
        if (await this.showText(message.webUserId, message.replyId, message.text)) await this.store.markWebDelivered(message.replyId, message.webUserId);
        return;
      case 'prompt':
        if (this.web.sessionsOf(message.webUserId) > 0) await this.web.sendPrompt({ kind: 'user', channelUserId: message.webUserId }, message.prompt);
        return;
      case 'update':
        for (const webUserId of message.webUserIds) await this.web.updatePrompt(webPromptRef(webUserId, message.prompt.decisionId), message.prompt);
        return;
      default: {
        const unknown: never = message;
        this.log.warn({ message: unknown }, 'webchat fan-out: unknown operation');
      }
    }
  }

  // ------------------------------------------------------------------------------------------
  // Presence (from the web chat adapter)

  onPresence(event: { channelUserId: string; principal: Principal; sessions: number; change: 'signed-in' | 'closed' }): Promise<void> {
    const next = this.presenceChain.then(() => this.applyPresence(event));
    this.presenceChain = next.catch(() => undefined);
    return next;
  }

  private async applyPresence(event: { channelUserId: string; sessions: number; change: 'signed-in' | 'closed' }): Promise<void> {
    const webUserId = event.channelUserId;
    if (event.sessions === 0) {
      this.held.delete(webUserId);
      await this.sessions.leave(webUserId);
      return;
    }
    this.held.set(webUserId, event.sessions);
    await this.sessions.join(webUserId, event.sessions);
    if (event.change !== 'signed-in') return;
    // Hand over what waited for this person: replies first, then the prompts still open for them.
    for (const waiting of await this.store.claimWaitingWeb(webUserId)) await this.showText(webUserId, waiting.replyId, waiting.text);
    for (const prompt of await this.store.pendingPromptsForWeb(webUserId, this.clock())) {
      await this.web.sendPrompt({ kind: 'user', channelUserId: webUserId }, prompt);
    }
  }

  async close(): Promise<void> {
    await this.presenceChain;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const webUserId of this.held.keys()) await this.sessions.leave(webUserId).catch(() => undefined);
    this.held.clear();
  }
}
