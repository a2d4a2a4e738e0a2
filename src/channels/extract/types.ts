// The intent-extraction seam: chat text in, a typed action (or a question back) out.
// A deterministic rule-based extractor ships (rules.ts); a model-backed one can implement the same
// interface. Extractors never guess: when a required field is missing or unclear they ask.
import type { Action } from '../../domain/types.ts';

/** The fields an extractor can ask for, one at a time. */
export type Slot = 'amount' | 'payee' | 'memo' | 'recipient' | 'subject' | 'body' | 'host' | 'command';

/**
 * What a clarifying question is waiting for. JSON-serialisable: the service keeps it with the
 * conversation and passes it back with the user's next message.
 */
export interface PendingClarification {
  actionType: 'transfer' | 'message_send' | 'command_run';
  missing: Slot;
  /** The fields already understood (a partial action without `type`). */
  known: Record<string, string | number | null>;
}

export interface ExtractionInput {
  text: string;
  /** The clarification the previous turn of this conversation asked, if any. */
  pending?: PendingClarification | null;
}

export type ExtractionResult =
  | {
      kind: 'action';
      action: Action;
      /** 0..1: how sure the extractor is that this is what the user meant. */
      confidence: number;
      extractor: string;
    }
  | {
      kind: 'clarify';
      /** A question to send back to the user. */
      question: string;
      pending: PendingClarification;
      extractor: string;
    }
  | {
      /** Nothing actionable (greeting, unknown request, cancel): an explanation of what the bot can do. */
      kind: 'help';
      text: string;
      extractor: string;
    };

export interface IntentExtractor {
  /** Recorded with each intent (Intent.extraction.extractor), e.g. "rules/1". */
  readonly name: string;
  extract(input: ExtractionInput): Promise<ExtractionResult>;
}
