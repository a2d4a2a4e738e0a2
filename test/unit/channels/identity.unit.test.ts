// Identity links: schema validation at load, principal resolution, reaching approvers, roles.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import YAML from 'yaml';
import {
  channelIdentitiesOf, expandApprovers, guestUserId, loadIdentityLinks, parseIdentityLinks, resolvePrincipal, rolesOf,
} from '../../../src/channels/identity/links.ts';
import { isSentinelError } from '../../../src/errors/index.ts';
import { CHANNEL_NAMES } from '../../../src/domain/types.ts';

test('the development file config/identities.yaml loads, and defines every approver role the constitution names', async () => {
  const directory = await loadIdentityLinks(new URL('../../../config/identities.yaml', import.meta.url).pathname);
  assert.deepEqual(directory.users.map((u) => u.userId), ['alice', 'bob', 'carol', 'dave']);
  assert.deepEqual(directory.roles.get('finance-approver'), ['bob', 'carol']);
  assert.deepEqual(expandApprovers(directory, ['role:finance-approver']), ['bob', 'carol']);
  const constitution = YAML.parse(readFileSync(new URL('../../../policy/constitution.yaml', import.meta.url), 'utf8')) as { approvals: Record<string, { approvers: string[] }> };
  for (const { approvers } of Object.values(constitution.approvals)) {
    for (const approver of approvers.filter((a) => a.startsWith('role:'))) {
      assert.ok((directory.roles.get(approver.slice(5)) ?? []).length > 0, `${approver} has members`);
    }
  }
  for (const user of directory.users) {
    for (const channel of ['web', 'telegram', 'discord', 'slack'] as const) {
      assert.ok(user.identities.some((i) => i.channel === channel), `${user.userId} has a ${channel} identity`);
    }
  }
});

const DOC = `
version: 1
users:
  alice:
    displayName: Alice Adams
    identities: { web: alice, telegram: 100000001, discord: 300000000000000001, slack: [U0ALICE001, W0ALICE002] }
  bob:
    identities: { telegram: "100000002" }
roles:
  treasury: { description: money, members: [bob] }
  ops: { members: [alice, bob] }
`;

test('resolvePrincipal maps channel identities to canonical users; strangers are deterministic guests', () => {
  const d = parseIdentityLinks(DOC);
  assert.deepEqual(resolvePrincipal(d, 'discord', '300000000000000001', 'al'), { userId: 'alice', channel: 'discord', channelUserId: '300000000000000001', displayName: 'Alice Adams' });
  assert.deepEqual(resolvePrincipal(d, 'slack', 'W0ALICE002'), { userId: 'alice', channel: 'slack', channelUserId: 'W0ALICE002', displayName: 'Alice Adams' });
  assert.deepEqual(resolvePrincipal(d, 'telegram', '100000002', 'Bobby'), { userId: 'bob', channel: 'telegram', channelUserId: '100000002', displayName: 'Bobby' });
  assert.deepEqual(resolvePrincipal(d, 'telegram', '100000003', 'Eve'), { userId: 'guest:telegram:100000003', channel: 'telegram', channelUserId: '100000003', displayName: 'Eve' });
  // The same id on another channel is someone else.
  assert.equal(resolvePrincipal(d, 'web', '100000002').userId, 'guest:web:100000002');
  assert.equal(guestUserId('slack', 'U1'), 'guest:slack:U1');
});

test('unquoted large ids (Discord snowflakes) keep every digit', () => {
  const d = parseIdentityLinks('version: 1\nusers:\n  zed: { identities: { discord: 1234567890123456789 } }\n');
  assert.deepEqual(channelIdentitiesOf(d, 'zed'), [{ channel: 'discord', channelUserId: '1234567890123456789' }]);
});

test('channelIdentitiesOf and rolesOf reach a person on their channels', () => {
  const d = parseIdentityLinks(DOC);
  assert.deepEqual(channelIdentitiesOf(d, 'alice'), [
    { channel: 'web', channelUserId: 'alice' },
    { channel: 'telegram', channelUserId: '100000001' },
    { channel: 'discord', channelUserId: '300000000000000001' },
    { channel: 'slack', channelUserId: 'U0ALICE001' },
    { channel: 'slack', channelUserId: 'W0ALICE002' },
  ]);
  assert.deepEqual(channelIdentitiesOf(d, 'guest:web:x'), []);
  assert.deepEqual(rolesOf(d, 'bob'), ['ops', 'treasury']);
  assert.deepEqual(rolesOf(d, 'nobody'), []);
  assert.deepEqual(expandApprovers(d, ['role:ops', 'alice', 'role:unknown', 'ghost']), ['alice', 'bob']);
});

function configError(yaml: string): { message: string; paths: unknown } {
  try {
    parseIdentityLinks(yaml, 'test.yaml');
  } catch (error) {
    assert.ok(isSentinelError(error, 'SNT_CONFIG_INVALID'), String(error));
    return { message: error.message, paths: error.details.paths };
  }
  assert.fail('expected SNT_CONFIG_INVALID');
}

test('invalid files are refused at load, naming each problem', () => {
  assert.deepEqual(configError('version: 2\nusers: {}\n').paths, ['/version']);
  assert.deepEqual(configError('version: 1\nusers:\n  Alice: { identities: { web: a } }\n').paths, ['/users/Alice']);
  assert.deepEqual(configError('version: 1\nusers:\n  alice: { identities: {} }\n').paths, ['/users/alice/identities']);
  assert.deepEqual(configError('version: 1\nusers:\n  alice: { identities: { irc: a } }\n').paths, ['/users/alice/identities/irc']);
  assert.deepEqual(configError('version: 1\nusers:\n  alice: { identities: { web: "a b" } }\n').paths, ['/users/alice/identities/web']);
  assert.deepEqual(configError('version: 1\nusers:\n  alice: { identities: { web: a } }\nroles:\n  ops: { members: [bob] }\n').paths, ['/roles/ops/members/0']);
  const dup = configError('version: 1\nusers:\n  alice: { identities: { web: x } }\n  bob: { identities: { web: x } }\n');
  assert.match(dup.message, /web identity "x" is already linked to "alice"/);
  assert.match(configError('version: 1\nusers: [\n').message, /test\.yaml/);
  assert.match(configError('version: 1\nversion: 1\nusers: {}\n').message, /invalid/);
});

test('a missing file is a configuration error naming IDENTITY_LINKS_FILE', async () => {
  await assert.rejects(loadIdentityLinks('/nonexistent/identities.yaml'), (error: unknown) =>
    isSentinelError(error, 'SNT_CONFIG_INVALID') && (error.details.variables as string[]).includes('IDENTITY_LINKS_FILE'));
});

test('property: resolution is total and never confuses a guest with a linked user', () => {
  const d = parseIdentityLinks(DOC);
  fc.assert(
    fc.property(fc.constantFrom(...CHANNEL_NAMES), fc.string({ minLength: 1, maxLength: 40 }), (channel, id) => {
      const p = resolvePrincipal(d, channel, id);
      assert.equal(p.channel, channel);
      assert.equal(p.channelUserId, id);
      const linked = channelIdentitiesOf(d, p.userId).some((i) => i.channel === channel && i.channelUserId === id);
      assert.equal(linked || p.userId === `guest:${channel}:${id}`, true);
    }),
    { numRuns: 500 },
  );
});
