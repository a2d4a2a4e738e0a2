// Web chat, end to end, in a real headless Chromium: the page served by the channels service, the
// whole pipeline (channels → policy → signer → executor) on the real broker, registry, PostgreSQL
// and Redis. A requester and approvers each in their own browser context.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { answersOfThisTest, executions, startPipeline } from '../support/pipeline.ts';
import { waitFor } from '../support/wait.ts';

const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const TIMEOUT = 30_000;

async function launch(t: { after(fn: () => Promise<void>): void }): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS });
  t.after(() => browser.close());
  return browser;
}

/** A person's own browser context (own sessionStorage), signed in on the page. */
async function signIn(browser: Browser, url: string, userId: string): Promise<Page> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(url);
  await page.locator('#connection', { hasText: 'Connected' }).waitFor();
  await page.fill('#user-id', userId);
  await page.click('#sign-in-form button[type=submit]');
  await page.locator('#workspace').waitFor({ state: 'visible' });
  await page.locator('#connection', { hasText: 'Signed in as' }).waitFor();
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#message-text', text);
  await page.press('#message-text', 'Enter');
  // The message is in the log and acknowledged (its "sending…" note is gone once the intent is written).
  const mine = page.locator('#log .entry-mine', { hasText: text }).last();
  await mine.waitFor();
  await mine.locator('.entry-note').waitFor({ state: 'detached' });
}

async function reply(page: Page, text: string | RegExp): Promise<string> {
  const entry = page.locator('#log .entry-reply .entry-text', { hasText: text }).first();
  await entry.waitFor();
  return entry.innerText();
}

function card(page: Page, action: string) {
  return page.locator('#prompts li.prompt', { hasText: action });
}

test('web chat in Chromium: low risk runs at once; high risk waits for an approver in another page; denied and expired never run; a forged answer is refused', async (t) => {
  const p = await startPipeline(t, { within: { ops: '8s' } });
  const browser = await launch(t);
  const url = `${p.channels.url}/`;
  const { alice, carol, dave, erin } = p.people;
  const [requester, approver, operator] = await Promise.all([signIn(browser, url, alice.web), signIn(browser, url, carol.web), signIn(browser, url, dave.web)]);
  assert.equal(await approver.locator('#approvals').isVisible(), true, 'an approver sees the approvals panel');

  // Expired: a command that needs an operator (8 s to answer in this constitution); nobody answers.
  await say(requester, 'run `sudo reboot` on web-2');
  await card(operator, 'sudo reboot').waitFor();

  // Low risk: runs at once, and the user is told.
  await say(requester, 'run `df -h` on build-01');
  assert.match(await reply(requester, 'Done: run `df -h` on build-01'), /dry run/);

  // High risk: the approver approves in her page; it runs once; both are told.
  await say(requester, 'transfer $5000 to Alice');
  assert.match(await reply(requester, 'Waiting for approval (medium risk): transfer 5,000.00 USD to Alice'), /role:finance-approver/);
  const transferCard = card(approver, 'transfer 5,000.00 USD to Alice');
  await transferCard.waitFor();
  assert.equal(await transferCard.locator('.prompt-risk').innerText(), 'Medium');
  await transferCard.locator('button.approve').click();
  await transferCard.locator('.prompt-status', { hasText: `Approved by ${carol.displayName}` }).waitFor();
  assert.equal(await transferCard.locator('button.approve').isVisible(), false, 'the buttons are gone once decided');
  assert.match(await reply(requester, 'Done: transfer 5,000.00 USD to Alice'), /moved from/);
  await reply(requester, `Approved by ${carol.displayName}`);

  // Denied: never runs; the requester is told who denied it.
  await say(requester, 'transfer $1500 to Bob');
  const denyCard = card(approver, 'transfer 1,500.00 USD to Bob');
  await denyCard.locator('button.deny').click();
  await denyCard.locator('.prompt-status', { hasText: `Denied by ${carol.displayName}` }).waitFor();
  await reply(requester, `Refused: transfer 1,500.00 USD to Bob. Denied by ${carol.displayName}`);

  // Forged: erin is no approver; a hand-made answer frame from her page is refused, and so is one
  // sent before signing in. Neither reaches the signer.
  const decisionId = (await card(operator, 'sudo reboot').locator('article').getAttribute('aria-label'))!.replace('Decision ', '');
  const intruder = await signIn(browser, url, erin.web);
  const refusals = await intruder.evaluate(async ({ wsUrl, decisionId: id, userId }) => {
    const frames: Array<{ type: string; code?: string; id?: string }> = [];
    const open = (): Promise<WebSocket> => new Promise((resolve) => {
      const socket = new WebSocket(wsUrl);
      socket.addEventListener('message', (event) => frames.push(JSON.parse(String(event.data))));
      socket.addEventListener('open', () => resolve(socket));
    });
    const anonymous = await open();
    anonymous.send(JSON.stringify({ type: 'answer', id: 'forged-1', decisionId: id, verdict: 'approve' }));
    const signedIn = await open();
    signedIn.send(JSON.stringify({ type: 'hello', protocol: 1, userId }));
    signedIn.send(JSON.stringify({ type: 'answer', id: 'forged-2', decisionId: id, verdict: 'approve' }));
    const deadline = Date.now() + 10_000;
    while (frames.filter((f) => f.type === 'error').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    return frames.filter((f) => f.type === 'error').map((f) => `${f.id}:${f.code}`).sort();
  }, { wsUrl: p.channels.wsUrl, decisionId, userId: erin.web });
  assert.deepEqual(refusals, ['forged-1:SNT_UNAUTHENTICATED', 'forged-2:SNT_FORBIDDEN']);

  // The command expires: the requester is told, the operator's card says so, and it never ran.
  await reply(requester, 'Refused: run `sudo reboot` on web-2. No approval before the deadline');
  await card(operator, 'sudo reboot').locator('.prompt-status', { hasText: 'Expired' }).waitFor();

  // Distinct answers (the expiry may be on the topic more than once: the signer's deadline timer and
  // ours emit it with the same response id, which the signer applies once).
  const answers = await answersOfThisTest(p, 4, 3, 1000);
  assert.deepEqual(answers.map((r) => r.verdict).sort(), ['approve', 'deny', 'expired'], 'nothing from erin reached the signer');
  const approve = answers.find((r) => r.verdict === 'approve')!;
  assert.deepEqual([approve.approver.userId, approve.evidence.platform, approve.evidence.authenticatedBy], [carol.userId, 'web', 'webchat-dev-signin']);
  const ran = await executions(p, 2, 1500);
  assert.deepEqual(ran.map((e) => e.status), ['executed', 'executed'], 'only the allowed and the approved actions ran, once each');
  assert.equal(new Set(ran.map((e) => e.intentId)).size, 2);
  assert.ok(ran.some((e) => e.approvalId !== null && /moved from/.test(e.reason)));
  await waitFor(async () => (await (await fetch(`${p.channels.url}/metrics`)).text()).includes('sentinel_channels_webchat_refusals_total{code="SNT_FORBIDDEN"'), { what: 'the refusal counted' });
});
