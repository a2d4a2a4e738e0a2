// Message sends, delivered back through the channels: the "sent" message is a reply to the
// conversation (and, for medium "chat", to the recipient user), recorded in PostgreSQL.
import type { ChannelReply } from '../../../src/domain/types.ts';
import { deterministicUuid } from '../../../src/kafka/ids.ts';
import { storableText } from '../../../src/policy/store/pg-history.ts';
import type { ActionHandler } from './types.ts';

export function messageHandler(): ActionHandler<'message_send'> {
  return {
    type: 'message_send',
    transactional: true,
    async execute(context) {
      const { action, approval } = context;
      const reply: ChannelReply = {
        replyId: deterministicUuid(context.executionId, 'message-sent'),
        conversation: approval.conversation,
        intentId: approval.intentId,
        recipientUserId: action.medium === 'chat' ? action.recipient : null,
        kind: 'info',
        text: `Message sent (${action.medium}) to ${action.recipient}${action.subject ? ` — ${action.subject}` : ''}:\n${action.body}`,
        prompt: null,
      };
      await context.db.query(
        `INSERT INTO executor_messages (approval_id, execution_id, medium, recipient, subject, body, reply_id, sent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, to_timestamp($8 / 1000.0))`,
        [approval.approvalId, context.executionId, storableText(action.medium), storableText(action.recipient),
          action.subject === null ? null : storableText(action.subject), storableText(action.body), reply.replyId, context.now],
      );
      return {
        status: 'executed',
        summary: `${action.medium} to ${action.recipient} delivered through the channels`,
        result: { message: { medium: action.medium, recipient: action.recipient, replyId: reply.replyId } },
        replies: [reply],
      };
    },
  };
}
