// Aureus Sentinel web chat: plain ES module, no framework. Speaks the protocol of
// docs/webchat-protocol.md over one WebSocket. Everything shown is set with textContent, never as
// HTML, so nothing a requester typed can run in an approver's page.
//
// The pure helpers are exported so tests can check the frames against the protocol schema.

export const PROTOCOL = 1;

/** A random frame id (letters, digits, "-"; at most 64 characters). */
export function newFrameId() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  return `f-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

export const frames = {
  hello: (userId, token) => (token ? { type: 'hello', protocol: PROTOCOL, userId, token } : { type: 'hello', protocol: PROTOCOL, userId }),
  message: (id, text) => ({ type: 'message', id, text }),
  answer: (id, decisionId, verdict) => ({ type: 'answer', id, decisionId, verdict }),
  ping: (id) => ({ type: 'ping', id }),
};

/** Where to connect: ?ws=, then <meta name="sentinel-ws-url">, then ws(s)://<host>:8081/ws. */
export function webSocketUrl(location, metaContent) {
  const override = new URLSearchParams(location.search).get('ws');
  if (override) return override;
  if (metaContent) return metaContent;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.hostname}:8081/ws`;
}

const RISK_LABEL = { low: 'Low', medium: 'Medium', high: 'High' };

/** "in 14 min", "2 h ago": the deadline relative to now, for people. */
export function relativeTime(iso, now) {
  const ms = Date.parse(iso) - now;
  const minutes = Math.round(Math.abs(ms) / 60000);
  const text = minutes < 60 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
  return ms >= 0 ? `in ${text}` : `${text} ago`;
}

export function statusText(prompt) {
  const by = prompt.decidedBy ? ` by ${prompt.decidedBy}` : '';
  switch (prompt.status) {
    case 'approved': return `Approved${by}`;
    case 'denied': return `Denied${by}`;
    case 'expired': return 'Expired';
    default: return 'Waiting for your answer';
  }
}

// ------------------------------------------------------------------------------------------------
// The page

function main() {
  const $ = (id) => document.getElementById(id);
  const el = {
    connection: $('connection'), signIn: $('sign-in'), signInForm: $('sign-in-form'), userId: $('user-id'), userIdError: $('user-id-error'),
    workspace: $('workspace'), who: $('who'), log: $('log'), messageForm: $('message-form'), messageText: $('message-text'),
    messageError: $('message-error'), approvals: $('approvals'), approvalsEmpty: $('approvals-empty'), prompts: $('prompts'),
    template: $('prompt-template'),
  };
  const meta = document.querySelector('meta[name="sentinel-ws-url"]');
  const url = webSocketUrl(window.location, meta ? meta.getAttribute('content') : '');
  const pending = new Map(); // frame id -> log item awaiting ack
  const cards = new Map(); // decisionId -> card element
  let socket = null;
  let userId = sessionStorage.getItem('sentinel.userId') || '';
  // Production sign-in: the host application's sign-on opens the page with ?token=<signed token>
  // (WEBCHAT_SESSION_SECRET); it is kept for this tab only and removed from the address bar.
  const params = new URLSearchParams(window.location.search);
  if (params.get('token')) {
    sessionStorage.setItem('sentinel.token', params.get('token'));
    params.delete('token');
    const query = params.toString();
    window.history.replaceState(null, '', `${window.location.pathname}${query ? `?${query}` : ''}`);
  }
  const token = sessionStorage.getItem('sentinel.token') || undefined;
  let retry = 0;
  let welcomed = false;

  function setConnection(text) {
    el.connection.textContent = text;
  }

  function addLog(kind, text, extra) {
    const item = document.createElement('li');
    item.className = `entry entry-${kind}`;
    const who = document.createElement('span');
    who.className = 'entry-who';
    who.textContent = kind === 'mine' ? 'You' : kind === 'error' ? 'Problem' : 'Sentinel';
    const body = document.createElement('p');
    body.className = 'entry-text';
    body.textContent = text;
    item.append(who, body);
    if (extra) {
      const note = document.createElement('span');
      note.className = 'entry-note';
      note.textContent = extra;
      item.append(note);
    }
    el.log.append(item);
    item.scrollIntoView({ block: 'nearest' });
    return item;
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function renderCard(card, prompt) {
    const q = (sel) => card.querySelector(sel);
    q('.prompt-action').textContent = prompt.actionSummary;
    q('.prompt-risk').textContent = RISK_LABEL[prompt.riskTier] ?? prompt.riskTier;
    q('.prompt-risk').dataset.tier = prompt.riskTier;
    q('.prompt-reason').textContent = prompt.reason;
    q('.prompt-requester').textContent = prompt.requester.displayName
      ? `${prompt.requester.displayName} (${prompt.requester.userId})` : prompt.requester.userId;
    const deadline = new Date(prompt.deadline);
    q('.prompt-deadline').textContent = `${deadline.toLocaleString()} (${relativeTime(prompt.deadline, Date.now())})`;
    q('.prompt-status').textContent = statusText(prompt);
    card.dataset.status = prompt.status;
    const decided = prompt.status !== 'pending';
    for (const button of card.querySelectorAll('.prompt-buttons button')) {
      button.disabled = decided;
      if (decided) button.hidden = true;
    }
    q('.prompt-title').textContent = { approved: 'Approved', denied: 'Denied', expired: 'Expired' }[prompt.status] ?? 'Approval needed';
  }

  function showPrompt(prompt) {
    el.approvals.hidden = false;
    let card = cards.get(prompt.decisionId);
    if (!card) {
      card = el.template.content.firstElementChild.cloneNode(true);
      const label = `Decision ${prompt.decisionId}`;
      card.querySelector('article').setAttribute('aria-label', label);
      card.querySelector('.prompt-buttons').setAttribute('aria-label', `Answer for ${prompt.actionSummary}`);
      for (const [cls, verdict] of [['.approve', 'approve'], ['.deny', 'deny']]) {
        const button = card.querySelector(cls);
        button.setAttribute('aria-label', `${verdict === 'approve' ? 'Approve' : 'Deny'}: ${prompt.actionSummary}`);
        button.addEventListener('click', () => answer(prompt.decisionId, verdict, card));
      }
      cards.set(prompt.decisionId, card);
      el.prompts.prepend(card);
    }
    renderCard(card, prompt);
    el.approvalsEmpty.hidden = [...cards.values()].some((c) => c.dataset.status === 'pending');
  }

  function answer(decisionId, verdict, card) {
    const id = newFrameId();
    if (!send(frames.answer(id, decisionId, verdict))) {
      card.querySelector('.prompt-status').textContent = 'Not connected; try again in a moment.';
      return;
    }
    for (const button of card.querySelectorAll('.prompt-buttons button')) button.disabled = true;
    card.querySelector('.prompt-status').textContent = `Sending your ${verdict === 'approve' ? 'approval' : 'denial'}…`;
    pending.set(id, { kind: 'answer', card, verdict });
  }

  function onFrame(frame) {
    switch (frame.type) {
      case 'welcome': {
        welcomed = true;
        retry = 0;
        const name = frame.user.displayName || frame.user.userId;
        el.who.textContent = `· ${name}${frame.user.guest ? ' (guest)' : ''}`;
        el.signIn.hidden = true;
        el.workspace.hidden = false;
        if (frame.user.roles.length > 0) el.approvals.hidden = false;
        setConnection(`Signed in as ${name}`);
        el.messageText.focus();
        return;
      }
      case 'ack': {
        const entry = pending.get(frame.id);
        pending.delete(frame.id);
        if (entry?.kind === 'message') entry.item.querySelector('.entry-note')?.remove();
        if (entry?.kind === 'answer') {
          entry.card.querySelector('.prompt-status').textContent =
            `Your ${entry.verdict === 'approve' ? 'approval' : 'denial'} was received; waiting for confirmation.`;
        }
        return;
      }
      case 'reply':
        addLog('reply', frame.text);
        return;
      case 'prompt':
      case 'prompt-update':
        showPrompt(frame.prompt);
        return;
      case 'error': {
        const entry = frame.id ? pending.get(frame.id) : undefined;
        if (entry) pending.delete(frame.id);
        if (entry?.kind === 'answer') {
          entry.card.querySelector('.prompt-status').textContent = `Not recorded: ${frame.message}`;
          for (const button of entry.card.querySelectorAll('.prompt-buttons button')) button.disabled = false;
          return;
        }
        if (entry?.kind === 'message') entry.item.querySelector('.entry-note').textContent = 'not sent';
        if (!welcomed && frame.code === 'SNT_UNAUTHENTICATED') {
          el.userIdError.textContent = 'Sign-in refused.';
          el.userId.focus();
          return;
        }
        addLog('error', frame.message);
        return;
      }
      default:
        return;
    }
  }

  function connect() {
    setConnection('Connecting…');
    socket = new WebSocket(url);
    socket.addEventListener('open', () => {
      setConnection('Connected');
      if (userId) send(frames.hello(userId, token));
    });
    socket.addEventListener('message', (event) => {
      try {
        onFrame(JSON.parse(event.data));
      } catch {
        // ignore frames we cannot read
      }
    });
    socket.addEventListener('close', () => {
      welcomed = false;
      const delay = Math.min(30000, 500 * 2 ** retry++);
      setConnection(`Disconnected; reconnecting in ${Math.round(delay / 1000)} s`);
      setTimeout(connect, delay);
    });
  }

  el.signInForm.addEventListener('submit', (event) => {
    event.preventDefault();
    el.userIdError.textContent = '';
    const value = el.userId.value.trim();
    if (!el.userId.checkValidity() || value === '') {
      el.userIdError.textContent = 'Use letters, digits and . _ @ : + - only.';
      el.userId.focus();
      return;
    }
    userId = value;
    sessionStorage.setItem('sentinel.userId', userId);
    if (!send(frames.hello(userId, token))) el.userIdError.textContent = 'Not connected yet; it will sign in when the connection opens.';
  });

  el.messageForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const text = el.messageText.value.trim();
    el.messageError.textContent = '';
    if (text === '') {
      el.messageError.textContent = 'Type a request first.';
      return;
    }
    const id = newFrameId();
    if (!send(frames.message(id, text))) {
      el.messageError.textContent = 'Not connected; your message was not sent.';
      return;
    }
    const item = addLog('mine', text, 'sending…');
    pending.set(id, { kind: 'message', item });
    el.messageText.value = '';
  });

  el.messageText.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      el.messageForm.requestSubmit();
    }
  });

  if (userId) el.userId.value = userId;
  connect();
}

if (typeof document !== 'undefined' && typeof window !== 'undefined') {
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
}
