import type { ParseArgsConfig } from 'node:util';
import { keyCommands } from './keys.ts';
import { auditCommands } from './audit.ts';
import { replayCommands } from './replay.ts';
import { schemaCommands } from './schemas.ts';
import { topicCommands } from './topics.ts';

export interface Command {
  summary: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | undefined>): Promise<number>;
}

export const COMMANDS: Record<string, Command> = {
  ...topicCommands,
  ...schemaCommands,
  ...keyCommands,
  ...replayCommands,
  ...auditCommands,
};
