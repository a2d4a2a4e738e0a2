// Where a reply goes (pure): the conversation that started the request, a person on each channel
// they are linked on (approvers named by user id or role), or every card that shows a prompt.
// Channels that cannot be reached (not enabled, or a person with no linked identity there) are
// reported, never skipped silently.
import { channelIdentitiesOf, expandApprovers, type IdentityDirectory } from '../../src/channels/identity/links.ts';
import type { DeliveryTarget, PromptRef } from '../../src/channels/types.ts';
import type { ChannelName, ChannelReply } from '../../src/domain/types.ts';

export type DeliveryOperation = 'text' | 'prompt' | 'update';

export type PlannedTarget = DeliveryTarget | { kind: 'ref'; ref: PromptRef };

export interface PlannedDelivery {
  channel: ChannelName;
  target: PlannedTarget;
  /** Unique per reply and channel: "conversation:<id>", "user:<id>", "ref:<conversation>/<message>". */
  targetKey: string;
  operation: DeliveryOperation;
  recipientUserId: string | null;
  decisionId: string | null;
}

export interface DeliveryPlan {
  deliveries: PlannedDelivery[];
  /** Why some or all of the reply cannot be delivered (logged, counted, kept with the message). */
  problems: string[];
  /** Canonical users an approval prompt is for (approver entries expanded). */
  promptedUsers: string[];
}

export interface RoutingContext {
  directory: IdentityDirectory;
  /** Channels this service can push to: the enabled platform adapters and web chat. */
  reachable: ReadonlySet<ChannelName>;
  /** For approval_update: the cards showing the prompt. */
  promptRefs: readonly PromptRef[];
}

export function targetKeyOf(target: PlannedTarget): string {
  switch (target.kind) {
    case 'conversation': return `conversation:${target.conversationId}`;
    case 'user': return `user:${target.channelUserId}`;
    case 'ref': return `ref:${target.ref.conversationId}/${target.ref.messageId}`;
    default: {
      const exhaustive: never = target;
      return String(exhaustive);
    }
  }
}

function planned(channel: ChannelName, target: PlannedTarget, operation: DeliveryOperation, recipientUserId: string | null, decisionId: string | null): PlannedDelivery {
  return { channel, target, targetKey: targetKeyOf(target), operation, recipientUserId, decisionId };
}

/** The users behind a recipient ("role:<name>" or a user id). */
function recipientsOf(directory: IdentityDirectory, recipient: string): string[] {
  return expandApprovers(directory, [recipient]);
}

function toConversation(reply: ChannelReply, context: RoutingContext, operation: DeliveryOperation, decisionId: string | null): DeliveryPlan {
  const { channel, conversationId } = reply.conversation;
  // HTTP conversations are read through the API: the stored message is the delivery.
  if (channel === 'http') return { deliveries: [], problems: [], promptedUsers: [] };
  const deliveries = [planned(channel, { kind: 'conversation', conversationId }, operation, null, decisionId)];
  const problems = context.reachable.has(channel) ? [] : [`the ${channel} channel is not enabled`];
  return { deliveries, problems, promptedUsers: [] };
}

/** A person on every reachable channel they are linked on (`preferred` first and alone when possible). */
function toUsers(
  context: RoutingContext, users: readonly string[], operation: DeliveryOperation, decisionId: string | null,
  preferred: ChannelName | null,
): DeliveryPlan {
  const deliveries: PlannedDelivery[] = [];
  const problems: string[] = [];
  for (const userId of users) {
    const identities = channelIdentitiesOf(context.directory, userId).filter((i) => i.channel !== 'http' && context.reachable.has(i.channel));
    const chosen = preferred !== null && identities.some((i) => i.channel === preferred) ? identities.filter((i) => i.channel === preferred) : identities;
    if (chosen.length === 0) {
      problems.push(`${userId} has no linked identity on an enabled channel`);
      continue;
    }
    for (const identity of chosen) deliveries.push(planned(identity.channel, { kind: 'user', channelUserId: identity.channelUserId }, operation, userId, decisionId));
  }
  return { deliveries, problems, promptedUsers: [...users] };
}

export function planDeliveries(reply: ChannelReply, context: RoutingContext): DeliveryPlan {
  const decisionId = reply.prompt?.decisionId ?? null;
  switch (reply.kind) {
    case 'approval_prompt': {
      if (reply.prompt === null) return { ...toConversation(reply, context, 'text', null), problems: ['an approval_prompt without a prompt was delivered as text'] };
      if (reply.recipientUserId === null) return toConversation(reply, context, 'prompt', decisionId);
      const users = recipientsOf(context.directory, reply.recipientUserId);
      if (users.length === 0) return { deliveries: [], problems: [`${reply.recipientUserId} names nobody in the identity links`], promptedUsers: [] };
      // Approvers see the prompt wherever they are linked: every reachable channel.
      return toUsers(context, users, 'prompt', decisionId, null);
    }
    case 'approval_update': {
      const updates = reply.prompt === null
        ? []
        : context.promptRefs.map((ref) => planned(ref.channel, { kind: 'ref', ref }, 'update', null, ref.decisionId));
      // The text goes to the conversation; approvers see the edited cards.
      const text = reply.recipientUserId === null ? toConversation(reply, context, 'text', decisionId) : { deliveries: [], problems: [], promptedUsers: [] };
      const problems = [...text.problems];
      for (const u of updates) if (!context.reachable.has(u.channel)) problems.push(`a prompt card on ${u.channel} cannot be updated: the channel is not enabled`);
      return { deliveries: [...updates, ...text.deliveries], problems, promptedUsers: [] };
    }
    case 'outcome':
    case 'info':
    case 'clarification': {
      if (reply.recipientUserId === null) return toConversation(reply, context, 'text', decisionId);
      const users = recipientsOf(context.directory, reply.recipientUserId);
      if (users.length === 0) return { deliveries: [], problems: [`${reply.recipientUserId} names nobody in the identity links`], promptedUsers: [] };
      const plan = toUsers(context, users, 'text', decisionId, reply.conversation.channel);
      return { ...plan, promptedUsers: [] };
    }
    default: {
      const exhaustive: never = reply.kind;
      return { deliveries: [], problems: [`unknown reply kind ${String(exhaustive)}`], promptedUsers: [] };
    }
  }
}
