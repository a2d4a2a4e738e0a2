#!/usr/bin/env node
// The project CLI: `sentinel <area> <command> [options]`. Each command is a small function in
// src/cli/commands/; this file only parses arguments and dispatches.
import { parseArgs } from 'node:util';
import { SentinelError } from '../errors/index.ts';
import { COMMANDS } from './commands/index.ts';

function usage(): string {
  const lines = ['usage: sentinel <command> [options]', '', 'commands:'];
  for (const [name, command] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(22)} ${command.summary}`);
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  // Two-word commands ("topics apply"), and one-word ones ("replay") followed by their options.
  const twoWords = argv.slice(0, 2).join(' ');
  const name = COMMANDS[twoWords] ? twoWords : argv[0] ?? '';
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`${usage()}\n`);
    return argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' ? 0 : 2;
  }
  const { values } = parseArgs({ args: argv.slice(name.split(' ').length), options: command.options, allowPositionals: false, strict: true });
  return command.run(values as Record<string, string | boolean | undefined>);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: unknown) => {
    const message = error instanceof SentinelError ? `${error.code}: ${error.message}` : (error as Error).stack ?? String(error);
    process.stderr.write(`sentinel: ${message}\n`);
    process.exitCode = 1;
  },
);
