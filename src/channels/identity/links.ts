// Identity links: which channel identities belong to which Sentinel user, and which users hold
// which roles. Parsing and resolution are pure; only loadIdentityLinks reads a file.
//
// A channel identity that no link names is a guest, with the deterministic id
// "guest:<channel>:<channelUserId>", so the same stranger is always the same principal and can
// never collide with a linked user (user ids cannot contain ':').
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { CHANNEL_NAMES, type ChannelName, type Principal } from '../../domain/types.ts';
import { SentinelError } from '../../errors/index.ts';
import { fieldProblems, uniquePaths, validateIdentitiesSchema, type FieldProblem } from '../schemas.ts';

export interface LinkedUser {
  userId: string;
  displayName: string | null;
  identities: ReadonlyArray<ChannelIdentity>;
  roles: readonly string[];
}

export interface ChannelIdentity {
  channel: ChannelName;
  channelUserId: string;
}

export interface IdentityDirectory {
  /** Every linked user, sorted by id. */
  readonly users: readonly LinkedUser[];
  /** Role name (without "role:") -> member user ids, sorted. */
  readonly roles: ReadonlyMap<string, readonly string[]>;
  user(userId: string): LinkedUser | undefined;
}

const GUEST_PREFIX = 'guest:';
const ROLE_PREFIX = 'role:';

interface UserDoc {
  displayName?: string;
  identities: Partial<Record<ChannelName, string | string[]>>;
}
interface IdentitiesDoc {
  version: 1;
  users: Record<string, UserDoc>;
  roles?: Record<string, { description?: string; members: string[] }>;
}

interface Directory extends IdentityDirectory {
  readonly byIdentity: ReadonlyMap<string, LinkedUser>;
}

function identityKey(channel: ChannelName, channelUserId: string): string {
  return `${channel}\u0000${channelUserId}`;
}

function configError(source: string, problems: readonly FieldProblem[]): SentinelError {
  const text = problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
  return new SentinelError('SNT_CONFIG_INVALID', `identity links ${source} are invalid: ${text}`, {
    details: { variables: ['IDENTITY_LINKS_FILE'], paths: uniquePaths(problems) },
  });
}

/**
 * Large integers (Telegram ids, Discord snowflakes) written without quotes would lose precision
 * as JavaScript numbers, so the YAML is read with integers as BigInt: channel ids become exact
 * strings; any other integer must be a safe number.
 */
function normaliseIntegers(value: unknown, path: readonly string[]): unknown {
  if (typeof value === 'bigint') {
    const inIdentities = path.length >= 4 && path[0] === 'users' && path[2] === 'identities';
    if (inIdentities) return value.toString();
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (Array.isArray(value)) return value.map((item, i) => normaliseIntegers(item, [...path, String(i)]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normaliseIntegers(v, [...path, k]);
    return out;
  }
  return value;
}

/** Builds a directory from a parsed document; throws SentinelError(SNT_CONFIG_INVALID) naming each problem. */
export function buildIdentityDirectory(doc: unknown, source = '(inline)'): IdentityDirectory {
  if (!validateIdentitiesSchema(doc)) throw configError(source, fieldProblems(validateIdentitiesSchema.errors));
  const data = doc as IdentitiesDoc;
  const problems: FieldProblem[] = [];

  const rolesOfUser = new Map<string, string[]>();
  const roles = new Map<string, string[]>();
  for (const [role, spec] of Object.entries(data.roles ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    spec.members.forEach((member, i) => {
      if (!Object.hasOwn(data.users, member)) {
        problems.push({ path: `/roles/${role}/members/${i}`, message: `names unknown user "${member}"` });
      }
      rolesOfUser.set(member, [...(rolesOfUser.get(member) ?? []), role]);
    });
    roles.set(role, [...spec.members].sort());
  }

  const byIdentity = new Map<string, LinkedUser>();
  const owner = new Map<string, string>();
  const users: LinkedUser[] = [];
  for (const userId of Object.keys(data.users).sort()) {
    const spec = data.users[userId]!;
    const identities: ChannelIdentity[] = [];
    for (const channel of CHANNEL_NAMES) {
      const raw = spec.identities[channel];
      if (raw === undefined) continue;
      for (const channelUserId of Array.isArray(raw) ? raw : [raw]) {
        const key = identityKey(channel, channelUserId);
        const previous = owner.get(key);
        if (previous !== undefined) {
          problems.push({
            path: `/users/${userId}/identities/${channel}`,
            message: `${channel} identity "${channelUserId}" is already linked to "${previous}"`,
          });
          continue;
        }
        owner.set(key, userId);
        identities.push({ channel, channelUserId });
      }
    }
    const user: LinkedUser = Object.freeze({
      userId,
      displayName: spec.displayName ?? null,
      identities: Object.freeze(identities),
      roles: Object.freeze([...(rolesOfUser.get(userId) ?? [])].sort()),
    });
    users.push(user);
    for (const identity of identities) byIdentity.set(identityKey(identity.channel, identity.channelUserId), user);
  }
  if (problems.length > 0) throw configError(source, problems);

  const byId = new Map(users.map((u) => [u.userId, u]));
  const directory: Directory = {
    users: Object.freeze(users),
    roles,
    byIdentity,
    user: (userId) => byId.get(userId),
  };
  return directory;
}

/** Parses the YAML text of an identity-links file. */
export function parseIdentityLinks(yamlText: string, source = '(inline)'): IdentityDirectory {
  const document = parseDocument(yamlText, { intAsBigInt: true, uniqueKeys: true, prettyErrors: false });
  if (document.errors.length > 0) {
    throw configError(source, document.errors.map((e) => ({ path: '', message: e.message.split('\n')[0] ?? 'is not valid YAML' })));
  }
  return buildIdentityDirectory(normaliseIntegers(document.toJS({ maxAliasCount: 100 }), []), source);
}

/** Reads and validates IDENTITY_LINKS_FILE. */
export async function loadIdentityLinks(path: string): Promise<IdentityDirectory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new SentinelError('SNT_CONFIG_INVALID', `cannot read identity links file ${path}: ${(error as Error).message}`, {
      cause: error,
      details: { variables: ['IDENTITY_LINKS_FILE'] },
    });
  }
  return parseIdentityLinks(text, path);
}

/** The deterministic id of someone no link names. */
export function guestUserId(channel: ChannelName, channelUserId: string): string {
  return `${GUEST_PREFIX}${channel}:${channelUserId}`;
}

export function isGuestUserId(userId: string): boolean {
  return userId.startsWith(GUEST_PREFIX);
}

/**
 * The principal behind a channel identity. Linked users get their canonical id and display name;
 * anyone else is a guest (the platform's display name is kept, for the conversation only).
 */
export function resolvePrincipal(
  directory: IdentityDirectory,
  channel: ChannelName,
  channelUserId: string,
  platformDisplayName: string | null = null,
): Principal {
  const user = (directory as Directory).byIdentity.get(identityKey(channel, channelUserId));
  if (user) return { userId: user.userId, channel, channelUserId, displayName: user.displayName ?? platformDisplayName };
  return { userId: guestUserId(channel, channelUserId), channel, channelUserId, displayName: platformDisplayName };
}

/** Where a user can be reached: every linked channel identity (none for guests or unknown ids). */
export function channelIdentitiesOf(directory: IdentityDirectory, userId: string): readonly ChannelIdentity[] {
  return directory.user(userId)?.identities ?? [];
}

/** Roles of a user, without the "role:" prefix. */
export function rolesOf(directory: IdentityDirectory, userId: string): readonly string[] {
  return directory.user(userId)?.roles ?? [];
}

/**
 * Expands an approver list as policy writes it (user ids and "role:<name>") into user ids, sorted
 * and without duplicates. Unknown roles expand to nobody.
 */
export function expandApprovers(directory: IdentityDirectory, approvers: readonly string[]): string[] {
  const out = new Set<string>();
  for (const entry of approvers) {
    if (entry.startsWith(ROLE_PREFIX)) {
      for (const member of directory.roles.get(entry.slice(ROLE_PREFIX.length)) ?? []) out.add(member);
    } else if (directory.user(entry)) {
      out.add(entry);
    }
  }
  return [...out].sort();
}
