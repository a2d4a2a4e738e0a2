// Shared by the replay and audit commands: range options, outputs (a file or "-" for stdout), and
// the key registry / rule sets they need.
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { registryFromJwks } from '../../approval/keys/jwks.ts';
import { keyTimeline, type KeyTimeline } from '../../audit/key-timeline.ts';
import { SentinelError } from '../../errors/index.ts';
import type { RangeBound } from '../../replay/source.ts';

export type Values = Record<string, string | boolean | string[] | undefined>;

export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: Values, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

function usage(message: string): SentinelError {
  return new SentinelError('SNT_VALIDATION_FAILED', message);
}

/** Epoch milliseconds or an ISO 8601 date-time. */
export function parseTime(text: string, option: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw usage(`--${option}: "${text}" is neither epoch milliseconds nor an ISO 8601 time`);
  return ms;
}

/** "123" (every partition) or "0:10,3:42" (per partition). */
export function parseOffsets(text: string, option: string): bigint | Map<number, bigint> {
  if (/^\d+$/.test(text)) return BigInt(text);
  const map = new Map<number, bigint>();
  for (const part of text.split(',')) {
    const match = /^(\d+):(\d+)$/.exec(part.trim());
    if (!match) throw usage(`--${option}: "${text}" must be an offset or partition:offset pairs separated by commas`);
    map.set(Number(match[1]), BigInt(match[2]!));
  }
  return map;
}

/** --from-offset/--from-time and --to-offset/--to-time (defaults: the start, and the end as it is now). */
export function rangeFrom(values: Values): { from: RangeBound; to: RangeBound } {
  const bound = (side: 'from' | 'to'): RangeBound => {
    const offset = str(values, `${side}-offset`);
    const time = str(values, `${side}-time`);
    if (offset !== undefined && time !== undefined) throw usage(`give --${side}-offset or --${side}-time, not both`);
    if (offset !== undefined) return { kind: 'offset', offsets: parseOffsets(offset, `${side}-offset`) };
    if (time !== undefined) return { kind: 'time', at: parseTime(time, `${side}-time`) };
    return { kind: side === 'from' ? 'earliest' : 'latest' };
  };
  return { from: bound('from'), to: bound('to') };
}

export const RANGE_OPTIONS = {
  'from-offset': { type: 'string' },
  'from-time': { type: 'string' },
  'to-offset': { type: 'string' },
  'to-time': { type: 'string' },
  prefix: { type: 'string' },
  quiet: { type: 'boolean' },
} as const;

/** A line-oriented output: "-" is stdout, anything else a file (created or truncated). */
export interface LineOutput {
  toStdout: boolean;
  write(line: string): void;
  close(): void;
}

export function openOutput(path: string): LineOutput {
  if (path === '-') return { toStdout: true, write: (line) => { process.stdout.write(line); }, close: () => {} };
  const fd = openSync(path, 'w');
  let buffer = '';
  const flush = () => { if (buffer.length > 0) { writeSync(fd, buffer); buffer = ''; } };
  return {
    toStdout: false,
    write(line) {
      buffer += line;
      if (buffer.length >= 1 << 16) flush();
    },
    close() {
      flush();
      closeSync(fd);
    },
  };
}

/** Keys from a JWKS file (offline verification) instead of the signing-keys topic. */
export async function keysFromJwksFile(path: string): Promise<KeyTimeline> {
  return keyTimeline(registryFromJwks(JSON.parse(await readFile(path, 'utf8'))));
}
