// The executor's handlers, one per action type. tool_call has none: it fails with SNT_EXEC_NO_HANDLER.
import type { ActionType } from '../../../src/domain/types.ts';
import { commandHandler, type CommandHandlerOptions } from './command.ts';
import { messageHandler } from './message.ts';
import { transferHandler } from './transfer.ts';
import type { AnyHandler } from './types.ts';

export type { ActionHandler, AnyHandler, ExecutionContext, Queryable } from './types.ts';
export { parseCommand } from './command.ts';

export class HandlerRegistry {
  readonly #handlers = new Map<ActionType, AnyHandler>();

  constructor(handlers: readonly AnyHandler[]) {
    for (const handler of handlers) {
      if (this.#handlers.has(handler.type)) throw new TypeError(`two handlers for ${handler.type}`);
      this.#handlers.set(handler.type, handler);
    }
  }

  get(type: ActionType): AnyHandler | undefined {
    return this.#handlers.get(type);
  }
}

export function defaultHandlers(options: { command: CommandHandlerOptions; openingBalanceMinor?: number }): HandlerRegistry {
  return new HandlerRegistry([
    transferHandler(options.openingBalanceMinor === undefined ? {} : { openingBalanceMinor: options.openingBalanceMinor }),
    messageHandler(),
    commandHandler(options.command),
  ]);
}
