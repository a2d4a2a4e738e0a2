// Allowlisted commands (COMMAND_ALLOWLIST). Dry run by default (COMMAND_EXECUTE=false): the result
// says exactly what would run. With COMMAND_EXECUTE=true the program runs with execFile — no shell,
// a minimal environment, a timeout, output capped — on this executor's host (the action's host is
// recorded; remote execution is not part of the simulation). Anything with shell syntax, a path as
// the program, or a program off the allowlist is refused before it could run.
import { execFile } from 'node:child_process';
import type { ActionHandler } from './types.ts';

/** Characters that mean something to a shell (or smuggle one in); a command containing any is refused. */
const SHELL_SYNTAX = /[;&|`$<>(){}[\]\\'"*?~!#\n\r\t\v\f]/;
/** Any other control character (NUL, escape sequences ...) is refused too. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}
const ARGUMENT = /^[A-Za-z0-9._,:=+%@/-]+$/;

export type ParsedCommand = { ok: true; program: string; args: string[] } | { ok: false; reason: string };

/** Splits a command line into a program and arguments, refusing anything a shell would interpret. Pure. */
export function parseCommand(command: string, allowlist: readonly string[]): ParsedCommand {
  if (SHELL_SYNTAX.test(command) || hasControl(command)) return { ok: false, reason: 'the command uses shell syntax' };
  const words = command.trim().split(/ +/).filter(Boolean);
  const [program, ...args] = words;
  if (program === undefined) return { ok: false, reason: 'the command is empty' };
  if (program.includes('/')) return { ok: false, reason: 'the program must be a bare name from the allowlist, not a path' };
  if (!allowlist.includes(program)) return { ok: false, reason: `${program} is not on the allowlist (${allowlist.join(', ')})` };
  const bad = args.find((a) => !ARGUMENT.test(a));
  if (bad !== undefined) return { ok: false, reason: `argument "${bad}" has characters that are not allowed` };
  if (args.length > 16) return { ok: false, reason: 'too many arguments' };
  return { ok: true, program, args };
}

export const OUTPUT_LIMIT_BYTES = 4096;

function cap(text: string): { text: string; truncated: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  return bytes.length <= OUTPUT_LIMIT_BYTES ? { text, truncated: false } : { text: bytes.subarray(0, OUTPUT_LIMIT_BYTES).toString('utf8'), truncated: true };
}

export interface CommandHandlerOptions {
  allowlist: readonly string[];
  execute: boolean;
  timeoutMs?: number;
}

export function commandHandler(options: CommandHandlerOptions): ActionHandler<'command_run'> {
  const timeout = options.timeoutMs ?? 5000;
  return {
    type: 'command_run',
    transactional: false,
    async execute(context) {
      const { action } = context;
      const parsed = parseCommand(action.command, options.allowlist);
      if (!parsed.ok) return { status: 'failed', code: 'SNT_EXEC_COMMAND_NOT_ALLOWED', reason: `not run: ${parsed.reason}` };
      const argv = [parsed.program, ...parsed.args];
      if (!options.execute) {
        return {
          status: 'executed',
          summary: `dry run: would run ${JSON.stringify(argv)} on ${action.host} (COMMAND_EXECUTE=false)`,
          result: { dryRun: true, host: action.host, argv },
        };
      }
      const run = await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; error: string | null }>((resolve) => {
        execFile(parsed.program, parsed.args, {
          shell: false, timeout, killSignal: 'SIGKILL', maxBuffer: 64 * 1024, windowsHide: true,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C' }, encoding: 'utf8',
        }, (error, stdout, stderr) => {
          const e = error as (NodeJS.ErrnoException & { code?: number | string; signal?: string | null }) | null;
          resolve({
            code: e === null ? 0 : typeof e.code === 'number' ? e.code : null,
            signal: e?.signal ?? null, stdout, stderr, error: e === null ? null : e.message,
          });
        });
      });
      const stdout = cap(run.stdout);
      const stderr = cap(run.stderr);
      const result = { dryRun: false, host: action.host, argv, exitCode: run.code, signal: run.signal, stdout: stdout.text, stderr: stderr.text, truncated: stdout.truncated || stderr.truncated };
      if (run.code !== 0) {
        return { status: 'failed', code: 'SNT_EXEC_HANDLER_FAILED', reason: `${argv.join(' ')} ${run.signal ? `was killed (${run.signal}, timeout ${timeout} ms)` : `exited with ${run.code ?? run.error}`}`, result };
      }
      return { status: 'executed', summary: `ran ${JSON.stringify(argv)} (exit 0)`, result };
    },
  };
}
