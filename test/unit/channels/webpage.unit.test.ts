// The static web chat page: the frames app.js sends conform to the protocol schema, the WebSocket
// URL is found as documented, and the markup keeps the accessibility promises (labels, live regions).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { validateWebchatClientFrame } from '../../../src/channels/schemas.ts';

interface AppModule {
  PROTOCOL: number;
  newFrameId(): string;
  frames: {
    hello(userId: string, token?: string): unknown;
    message(id: string, text: string): unknown;
    answer(id: string, decisionId: string, verdict: 'approve' | 'deny'): unknown;
    ping(id: string): unknown;
  };
  webSocketUrl(location: { protocol: string; hostname: string; search: string }, meta: string | null): string;
  relativeTime(iso: string, now: number): string;
  statusText(prompt: { status: string; decidedBy: string | null }): string;
}

const WEB = new URL('../../../producers/channels/web/', import.meta.url);
const app = (await import(new URL('app.js', WEB).href)) as AppModule;
const html = readFileSync(new URL('index.html', WEB), 'utf8');
const script = readFileSync(new URL('app.js', WEB), 'utf8');

test('every frame the page builds is valid for the server', () => {
  const id = app.newFrameId();
  for (const frame of [
    app.frames.hello('alice'), app.frames.hello('carol', 'tok'), app.frames.message(id, 'transfer $5 to bob'),
    app.frames.answer(app.newFrameId(), 'dec-1', 'approve'), app.frames.answer(id, 'dec-1', 'deny'), app.frames.ping(id),
  ]) {
    assert.ok(validateWebchatClientFrame(frame), `${JSON.stringify(frame)}: ${JSON.stringify(validateWebchatClientFrame.errors)}`);
  }
  assert.equal(app.PROTOCOL, 1);
});

test('the WebSocket URL: ?ws= first, then the meta tag, then port 8081 of this host', () => {
  assert.equal(app.webSocketUrl({ protocol: 'http:', hostname: 'localhost', search: '' }, ''), 'ws://localhost:8081/ws');
  assert.equal(app.webSocketUrl({ protocol: 'https:', hostname: 'chat.example', search: '' }, null), 'wss://chat.example:8081/ws');
  assert.equal(app.webSocketUrl({ protocol: 'https:', hostname: 'x', search: '' }, 'wss://x/ws'), 'wss://x/ws');
  assert.equal(app.webSocketUrl({ protocol: 'https:', hostname: 'x', search: '?ws=ws%3A%2F%2F127.0.0.1%3A9%2Fws' }, 'wss://x/ws'), 'ws://127.0.0.1:9/ws');
});

test('statuses and deadlines read naturally', () => {
  assert.equal(app.statusText({ status: 'approved', decidedBy: 'carol' }), 'Approved by carol');
  assert.equal(app.statusText({ status: 'pending', decidedBy: null }), 'Waiting for your answer');
  assert.equal(app.relativeTime('2025-01-01T00:14:00Z', Date.parse('2025-01-01T00:00:00Z')), 'in 14 min');
  assert.equal(app.relativeTime('2025-01-01T00:00:00Z', Date.parse('2025-01-01T03:00:00Z')), '3 h ago');
});

test('the markup: a language, a label for every field, live regions, and every id the script uses', () => {
  assert.match(html, /<html lang="en">/);
  for (const [, id] of html.matchAll(/<(?:input|textarea)[^>]*\bid="([^"]+)"/g)) {
    assert.match(html, new RegExp(`<label for="${id}">`), `#${id} has a label`);
  }
  assert.match(html, /<ol id="log"[^>]*aria-live="polite"/);
  assert.match(html, /id="connection"[^>]*role="status"/);
  assert.match(html, /<ul id="prompts"[^>]*aria-live="polite"/);
  for (const [, id] of script.matchAll(/\$\('([a-z-]+)'\)/g)) assert.match(html, new RegExp(`id="${id}"`), `#${id} exists`);
  assert.ok(!/innerHTML|insertAdjacentHTML|outerHTML|document\.write/.test(script), 'nothing is inserted as HTML');
});
