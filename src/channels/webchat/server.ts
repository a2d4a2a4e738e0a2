// The web chat channel: a ChannelAdapter whose "platform" is our own page, over WebSocket (ws).
// The service mounts it on the WS_PORT server with handleUpgrade (or attach). Each socket is a
// session; after "hello" it belongs to one web identity, whose conversation id is that identity,
// so every open tab of a person sees the same replies and prompts.
//
// Every inbound frame is size-checked, parsed and validated against the client schema; a bad one
// gets an error frame and changes nothing. Nothing a client sends can crash the server.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ApprovalPrompt, EpochMillis, Principal } from '../../domain/types.ts';
import type { Logger } from '../../observability/log.ts';
import { callbackDigest } from '../auth/verify.ts';
import { isGuestUserId, resolvePrincipal, rolesOf, type IdentityDirectory } from '../identity/links.ts';
import type { AdapterHandlers, ChannelAdapter, DeliveryTarget, MessageRef, PromptRef } from '../types.ts';
import { isRefusal, silentLogger } from '../adapters/common.ts';
import { errorFrame, parseClientFrame, webPromptBody, WEBCHAT_MAX_TEXT, type ClientFrame, type ServerFrame } from './protocol.ts';

export const WEBCHAT_AUTHENTICATED_BY = { dev: 'webchat-dev-signin', session: 'webchat-session' } as const;

/**
 * How a hello proves who it is. 'dev' believes the user id (development only: anyone can claim to
 * be an approver). In production pass a function that checks hello.token (e.g. a session cookie
 * value or a signed token from your SSO) and returns the web identity, or null to refuse.
 */
export type WebChatSignIn =
  | 'dev'
  | ((hello: { userId: string; token: string | null; request: IncomingMessage }) => Promise<{ channelUserId: string } | null>);

export interface WebChatOptions {
  directory: IdentityDirectory;
  signIn: WebChatSignIn;
  /** Upgrade path; default /ws. */
  path?: string;
  /** When set, upgrades from any other Origin are refused (403): protects cookie-based sign-in from cross-site use. */
  allowedOrigins?: readonly string[] | null;
  log?: Logger;
  clock?: () => EpochMillis;
  newId?: () => string;
  /** Largest frame handled (error frame beyond). Default 8 KiB. */
  maxFrameBytes?: number;
  /** Frames beyond this are cut off by closing the socket (1009). Default 64 KiB. */
  maxPayloadBytes?: number;
  /** Messages and answers per session per window. Default 20 per 10 s. */
  rateLimit?: { frames: number; windowMs: number };
  /** A socket that has not said hello by then is closed. Default 15 s. */
  helloTimeoutMs?: number;
  /** Keep-alive ping interval; dead sockets are dropped. Default 30 s. */
  heartbeatMs?: number;
  /** Replies kept for a person with no open session, delivered at their next sign-in. Default 50 (0: the service keeps them). */
  backlogPerUser?: number;
  /**
   * Told when a web identity gains or loses a signed-in session on this server (after the welcome
   * frame, and when a socket closes), with the number of its sessions here now: the service keeps
   * presence and hands over what was waiting. Errors are logged, never sent to the page.
   */
  onPresence?: (event: { channelUserId: string; principal: Principal; sessions: number; change: 'signed-in' | 'closed' }) => void | Promise<void>;
  /** Told of every error frame sent (a refused frame), for logs and metrics. */
  onRefusal?: (event: { code: string; sessionId: string; channelUserId: string | null }) => void;
}

export interface WebChatAdapter extends ChannelAdapter {
  /** For `server.on('upgrade', ...)`: takes over requests for the path, refuses the rest. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Convenience: handleUpgrade on every 'upgrade' of this server. */
  attach(server: Server): void;
  readonly sessionCount: number;
  /** Signed-in sessions of a web identity on this server. */
  sessionsOf(channelUserId: string): number;
}

interface Session {
  id: string;
  socket: WebSocket;
  request: IncomingMessage;
  principal: Principal | null;
  authenticatedBy: string;
  alive: boolean;
  window: { start: number; count: number };
  failedHellos: number;
  helloTimer: NodeJS.Timeout | null;
}

interface OpenPrompt { prompt: ApprovalPrompt; messageId: string; recipients: Set<string> }

const CLOSE_UNAUTHENTICATED = 4401;
/** People with undelivered replies kept in memory; the oldest is dropped beyond this. */
const MAX_BACKLOG_USERS = 10_000;
const CLOSE_HELLO_TIMEOUT = 4408;

export function createWebChat(options: WebChatOptions): WebChatAdapter {
  const log = options.log ?? silentLogger();
  const clock = options.clock ?? Date.now;
  const newId = options.newId ?? randomUUID;
  const path = options.path ?? '/ws';
  const maxFrameBytes = options.maxFrameBytes ?? 8 * 1024;
  const rate = options.rateLimit ?? { frames: 20, windowMs: 10_000 };
  const helloTimeoutMs = options.helloTimeoutMs ?? 15_000;
  const backlogLimit = options.backlogPerUser ?? 50;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? 64 * 1024, perMessageDeflate: false });
  const sessions = new Set<Session>();
  const byUser = new Map<string, Set<Session>>();
  const openPrompts = new Map<string, OpenPrompt>();
  const backlog = new Map<string, ServerFrame[]>();
  let handlers: AdapterHandlers | null = null;
  let heartbeat: NodeJS.Timeout | null = null;

  function presence(session: Session, change: 'signed-in' | 'closed'): void {
    const principal = session.principal;
    if (!options.onPresence || principal === null) return;
    const sessionsNow = byUser.get(principal.channelUserId)?.size ?? 0;
    Promise.resolve()
      .then(() => options.onPresence!({ channelUserId: principal.channelUserId, principal, sessions: sessionsNow, change }))
      .catch((error: unknown) => log.error({ err: error, session: session.id }, 'webchat: presence hook failed'));
  }

  function send(session: Session, frame: ServerFrame): void {
    if (frame.type === 'error') options.onRefusal?.({ code: frame.code, sessionId: session.id, channelUserId: session.principal?.channelUserId ?? null });
    if (session.socket.readyState !== session.socket.OPEN) return;
    session.socket.send(JSON.stringify(frame), (error) => {
      if (error) log.debug({ err: error, session: session.id }, 'webchat: send failed');
    });
  }

  /** Sends to every open session of a web identity; returns how many got it. */
  function deliver(channelUserId: string, frame: ServerFrame, keepIfAbsent: boolean): number {
    const targets = byUser.get(channelUserId);
    if (!targets || targets.size === 0) {
      if (keepIfAbsent) {
        if (!backlog.has(channelUserId) && backlog.size >= MAX_BACKLOG_USERS) backlog.delete(backlog.keys().next().value!);
        const queue = backlog.get(channelUserId) ?? [];
        queue.push(frame);
        while (queue.length > backlogLimit) queue.shift();
        backlog.set(channelUserId, queue);
      }
      return 0;
    }
    for (const session of targets) send(session, frame);
    return targets.size;
  }

  function forget(session: Session): void {
    if (session.helloTimer) clearTimeout(session.helloTimer);
    sessions.delete(session);
    const channelUserId = session.principal?.channelUserId;
    if (channelUserId === undefined) return;
    const set = byUser.get(channelUserId);
    const had = set?.delete(session) ?? false;
    if (set?.size === 0) byUser.delete(channelUserId);
    if (had) presence(session, 'closed');
  }

  function rateLimited(session: Session): boolean {
    const now = clock();
    if (now - session.window.start >= rate.windowMs) session.window = { start: now, count: 0 };
    session.window.count += 1;
    return session.window.count > rate.frames;
  }

  async function onHello(session: Session, frame: Extract<ClientFrame, { type: 'hello' }>): Promise<void> {
    if (session.principal !== null) {
      send(session, errorFrame('SNT_CONFLICT', 'this session is already signed in; open a new connection to change user'));
      return;
    }
    let channelUserId: string | null = null;
    let authenticatedBy: string = WEBCHAT_AUTHENTICATED_BY.session;
    if (options.signIn === 'dev') {
      channelUserId = frame.userId;
      authenticatedBy = WEBCHAT_AUTHENTICATED_BY.dev;
    } else {
      try {
        channelUserId = (await options.signIn({ userId: frame.userId, token: frame.token ?? null, request: session.request }))?.channelUserId ?? null;
      } catch (error) {
        log.error({ err: error }, 'webchat: sign-in hook failed');
      }
    }
    if (channelUserId === null) {
      session.failedHellos += 1;
      send(session, errorFrame('SNT_UNAUTHENTICATED', 'sign-in refused'));
      if (session.failedHellos >= 3) session.socket.close(CLOSE_UNAUTHENTICATED, 'sign-in refused');
      return;
    }
    if (session.helloTimer) clearTimeout(session.helloTimer);
    session.helloTimer = null;
    const principal = resolvePrincipal(options.directory, 'web', channelUserId);
    session.principal = principal;
    session.authenticatedBy = authenticatedBy;
    const set = byUser.get(channelUserId) ?? new Set<Session>();
    set.add(session);
    byUser.set(channelUserId, set);
    send(session, {
      type: 'welcome',
      sessionId: session.id,
      conversationId: channelUserId,
      user: {
        userId: principal.userId,
        displayName: principal.displayName,
        roles: [...rolesOf(options.directory, principal.userId)],
        guest: isGuestUserId(principal.userId),
      },
      maxTextLength: WEBCHAT_MAX_TEXT,
    });
    for (const frame of backlog.get(channelUserId) ?? []) send(session, frame);
    backlog.delete(channelUserId);
    const now = clock();
    for (const open of openPrompts.values()) {
      if (open.recipients.has(channelUserId) && open.prompt.status === 'pending' && open.prompt.deadline > now) {
        send(session, { type: 'prompt', messageId: open.messageId, prompt: webPromptBody(open.prompt) });
      }
    }
    presence(session, 'signed-in');
  }

  async function onFrame(session: Session, data: RawData, isBinary: boolean): Promise<void> {
    const raw = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    const parsed = parseClientFrame(raw, isBinary, maxFrameBytes);
    if (!parsed.ok) {
      send(session, parsed.error);
      return;
    }
    const frame = parsed.frame;
    if (frame.type === 'ping') {
      send(session, { type: 'pong', ...(frame.id ? { id: frame.id } : {}) });
      return;
    }
    if (frame.type === 'hello') {
      await onHello(session, frame);
      return;
    }
    const principal = session.principal;
    if (principal === null) {
      send(session, errorFrame('SNT_UNAUTHENTICATED', 'say hello (sign in) first', { id: frame.id }));
      return;
    }
    if (rateLimited(session)) {
      send(session, errorFrame('SNT_RATE_LIMITED', `at most ${rate.frames} messages per ${rate.windowMs / 1000} s`, { id: frame.id }));
      return;
    }
    if (!handlers) {
      send(session, errorFrame('SNT_DEPENDENCY_UNAVAILABLE', 'the chat service is not ready', { id: frame.id }));
      return;
    }
    const receivedAt = clock();
    try {
      if (frame.type === 'message') {
        await handlers.onMessage({
          channel: 'web', conversationId: principal.channelUserId, channelUserId: principal.channelUserId,
          displayName: principal.displayName, text: frame.text, platformMessageId: frame.id,
          authenticatedBy: session.authenticatedBy, receivedAt,
        });
        send(session, { type: 'ack', id: frame.id, messageId: frame.id });
        return;
      }
      await handlers.onApprovalAnswer({
        decisionId: frame.decisionId, verdict: frame.verdict, platform: 'web', platformUserId: principal.channelUserId,
        displayName: principal.displayName, conversationId: principal.channelUserId,
        platformMessageId: openPrompts.get(frame.decisionId)?.messageId ?? null,
        authenticatedBy: session.authenticatedBy, callbackDigest: callbackDigest(raw), receivedAt,
      });
      send(session, { type: 'ack', id: frame.id });
    } catch (error) {
      if (isRefusal(error)) {
        // The service refused this message or answer (e.g. not an approver): say why; nothing changed.
        log.info({ code: error.code, session: session.id }, `webchat: refused: ${error.message}`);
        send(session, errorFrame(error.code, error.message, { id: frame.id }));
        return;
      }
      log.error({ err: error, session: session.id }, 'webchat: frame not accepted');
      send(session, errorFrame('SNT_DEPENDENCY_UNAVAILABLE', 'could not take this right now; please try again', { id: frame.id }));
    }
  }

  wss.on('connection', (socket: WebSocket, request: IncomingMessage) => {
    const session: Session = {
      id: newId(), socket, request, principal: null, authenticatedBy: WEBCHAT_AUTHENTICATED_BY.session, alive: true,
      window: { start: clock(), count: 0 }, failedHellos: 0, helloTimer: null,
    };
    sessions.add(session);
    session.helloTimer = setTimeout(() => {
      send(session, errorFrame('SNT_UNAUTHENTICATED', 'no hello in time'));
      socket.close(CLOSE_HELLO_TIMEOUT, 'no hello in time');
    }, helloTimeoutMs);
    session.helloTimer.unref();
    // Frames of one session are handled in order.
    let chain = Promise.resolve();
    socket.on('message', (data, isBinary) => {
      chain = chain.then(() => onFrame(session, data, isBinary)).catch((error: unknown) => {
        log.error({ err: error }, 'webchat: unexpected failure');
        send(session, errorFrame('SNT_INTERNAL', 'internal error'));
      });
    });
    socket.on('pong', () => { session.alive = true; });
    socket.on('error', (error) => log.debug({ err: error, session: session.id }, 'webchat: socket error'));
    socket.on('close', () => forget(session));
  });

  function handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const requestPath = (request.url ?? '/').split('?')[0];
    if (requestPath !== path) return refuse(404, 'Not Found');
    if (options.allowedOrigins && !options.allowedOrigins.includes(request.headers.origin ?? '')) return refuse(403, 'Forbidden');
    if (handlers === null) return refuse(503, 'Service Unavailable');
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit('connection', ws, request));
  }

  function recipientOf(target: DeliveryTarget): string {
    // A web conversation is its web identity.
    return target.kind === 'conversation' ? target.conversationId : target.channelUserId;
  }

  return {
    name: 'web',
    webhooks: [],
    handleUpgrade,
    attach(server: Server): void {
      server.on('upgrade', handleUpgrade);
    },
    get sessionCount() {
      return sessions.size;
    },
    sessionsOf(channelUserId: string): number {
      return byUser.get(channelUserId)?.size ?? 0;
    },
    async start(h: AdapterHandlers): Promise<void> {
      handlers = h;
      heartbeat = setInterval(() => {
        for (const session of sessions) {
          if (!session.alive) {
            session.socket.terminate();
            continue;
          }
          session.alive = false;
          session.socket.ping();
        }
      }, options.heartbeatMs ?? 30_000);
      heartbeat.unref();
    },
    async sendText(target, text): Promise<MessageRef> {
      const channelUserId = recipientOf(target);
      const messageId = newId();
      deliver(channelUserId, { type: 'reply', messageId, text, at: new Date(clock()).toISOString() }, true);
      return { channel: 'web', conversationId: channelUserId, messageId };
    },
    async sendPrompt(target, prompt): Promise<PromptRef> {
      const channelUserId = recipientOf(target);
      const now = clock();
      for (const [decisionId, stale] of openPrompts) if (stale.prompt.deadline <= now) openPrompts.delete(decisionId);
      const open = openPrompts.get(prompt.decisionId) ?? { prompt, messageId: `prompt-${newId()}`, recipients: new Set<string>() };
      open.prompt = prompt;
      open.recipients.add(channelUserId);
      openPrompts.set(prompt.decisionId, open);
      // Not kept in the backlog: open prompts are re-sent at sign-in while they are pending.
      deliver(channelUserId, { type: 'prompt', messageId: open.messageId, prompt: webPromptBody(prompt) }, false);
      return { channel: 'web', conversationId: channelUserId, messageId: open.messageId, decisionId: prompt.decisionId };
    },
    async updatePrompt(ref, prompt): Promise<void> {
      // The card of one web identity (every tab of it): the service updates each PromptRef once.
      const open = openPrompts.get(prompt.decisionId);
      // The id of the prompt frame this server sent, when it sent one (the page matches cards by decision id).
      deliver(ref.conversationId, { type: 'prompt-update', messageId: open?.messageId ?? ref.messageId, prompt: webPromptBody(prompt) }, prompt.status !== 'pending');
      if (!open) return;
      open.prompt = prompt; // a decided prompt is no longer re-sent at sign-in
      if (prompt.status !== 'pending') {
        open.recipients.delete(ref.conversationId);
        if (open.recipients.size === 0) openPrompts.delete(prompt.decisionId);
      }
    },
    async stop(): Promise<void> {
      handlers = null;
      if (heartbeat) clearInterval(heartbeat);
      heartbeat = null;
      for (const session of sessions) session.socket.close(1001, 'server shutting down');
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          for (const session of sessions) session.socket.terminate();
          resolve();
        }, 1000);
        const check = () => {
          if (sessions.size === 0) {
            clearTimeout(deadline);
            resolve();
          } else {
            setTimeout(check, 10);
          }
        };
        check();
      });
      wss.close();
    },
  };
}
