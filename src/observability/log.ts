// JSON logs via pino. Secrets never reach a log line: known secret fields are redacted by path,
// and every configured secret value is scrubbed from the serialised line as a last line of defence.
import { pino, type Logger, type DestinationStream } from 'pino';
import { secretValues, type LogLevel } from '../config/index.ts';

export type { Logger } from 'pino';

const REDACT_PATHS = [
  'password', '*.password', 'apiKey', '*.apiKey', 'token', '*.token', 'secret', '*.secret',
  'authorization', '*.authorization', 'headers.authorization', 'headers["x-api-key"]', 'headers.cookie',
  'req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie',
  'privateKey', '*.privateKey',
];

function escapeForRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface LoggerOptions {
  service: string;
  level: LogLevel;
  instanceId?: string;
  /** Secret values to scrub; defaults to every secret variable set in the environment. */
  secrets?: string[];
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const secrets = (options.secrets ?? secretValues()).filter((s) => s.length >= 4);
  const scrub = secrets.length === 0
    ? null
    : new RegExp(secrets.sort((a, b) => b.length - a.length).map(escapeForRegex).join('|'), 'g');
  // A secret may appear JSON-escaped inside the line; scrub that form too.
  const scrubEscaped = secrets.length === 0
    ? null
    : new RegExp(secrets.map((s) => escapeForRegex(JSON.stringify(s).slice(1, -1))).join('|'), 'g');
  return pino(
    {
      level: options.level,
      base: { service: options.service, instance: options.instanceId ?? `${process.pid}` },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      hooks: scrub
        ? { streamWrite: (line: string) => line.replace(scrub, '[REDACTED]').replace(scrubEscaped!, '[REDACTED]') }
        : {},
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
