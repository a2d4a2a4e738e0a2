import type { ParseArgsConfig } from 'node:util';
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
};
