// One typed configuration, read from the environment once at start-up. Every variable of the
// seed design plus the Kafka, registry, vector-store and bot settings is declared in VARIABLES,
// which also drives docs/configuration.md, .env.example and the compose/k8s consistency tests.
// A bad value stops start-up with a message naming each offending variable.
import { SentinelError } from '../errors/index.ts';

export type ServiceName = 'channels' | 'policy' | 'signer' | 'executor' | 'cli';
export const SERVICE_NAMES: readonly ServiceName[] = ['channels', 'policy', 'signer', 'executor', 'cli'];
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

type Parser<T> = (raw: string) => T;

export interface VariableSpec {
  readonly name: string;
  readonly description: string;
  /** Default when unset; per service where the seed gives each service its own. */
  readonly defaultValue: string | Partial<Record<ServiceName, string>> | undefined;
  readonly secret: boolean;
  /** Services that read it (docs and compose/k8s checks). */
  readonly services: readonly ServiceName[];
}

const ALL: readonly ServiceName[] = SERVICE_NAMES;
const NET_SERVICES: readonly ServiceName[] = ['channels', 'policy', 'signer', 'executor'];

function v(name: string, description: string, defaultValue: VariableSpec['defaultValue'], services: readonly ServiceName[], secret = false): VariableSpec {
  return { name, description, defaultValue, secret, services };
}

export const VARIABLES: readonly VariableSpec[] = [
  v('NODE_ENV', 'development | production | test', 'development', ALL),
  v('LOG_LEVEL', 'pino level: trace, debug, info, warn, error, fatal, silent', 'info', ALL),
  v('PORT', 'HTTP port of the service', { channels: '8080', policy: '5000', signer: '3000', executor: '7000', cli: '0' }, NET_SERVICES),
  v('WS_PORT', 'WebSocket port of the web chat', '8081', ['channels']),
  v('HOST', 'Interface the HTTP servers bind to', '127.0.0.1', NET_SERVICES),
  v('INSTANCE_ID', 'Name of this replica (pod name); defaults to host name and pid', undefined, ALL),
  v('KAFKA_BROKERS', 'Comma-separated bootstrap brokers host:port', '127.0.0.1:19092', ALL),
  v('KAFKA_CLIENT_ID', 'Kafka client id prefix', 'aureus-sentinel', ALL),
  v('KAFKA_CLIENT', 'Kafka client library behind the messaging core: platformatic | kafkajs', 'platformatic', ALL),
  v('TOPIC_PREFIX', 'Prefix added to every topic of topics.yaml (isolates environments and test runs)', '', ALL),
  v('SCHEMA_REGISTRY_URL', 'Confluent-compatible schema registry base URL', 'http://127.0.0.1:18081/apis/ccompat/v7', ALL),
  v('POSTGRES_HOST', 'PostgreSQL host', '127.0.0.1', ALL),
  v('POSTGRES_PORT', 'PostgreSQL port', '5432', ALL),
  v('POSTGRES_DB', 'PostgreSQL database', 'sentinel', ALL),
  v('POSTGRES_USER', 'PostgreSQL user', 'postgres', ALL),
  v('POSTGRES_PASSWORD', 'PostgreSQL password', '', ALL, true),
  v('REDIS_HOST', 'Redis host', '127.0.0.1', ALL),
  v('REDIS_PORT', 'Redis port', '6379', ALL),
  v('REDIS_PASSWORD', 'Redis password', '', ALL, true),
  v('REDIS_KEY_PREFIX', 'Prefix of every Redis key (isolates environments sharing a Redis)', 'sentinel:', ALL),
  v('BRIDGE_URL', 'Base URL of the signer ("Bridge") HTTP API', 'http://127.0.0.1:3000', ['channels', 'policy', 'executor', 'cli']),
  v('AUREUS_OS_URL', 'Base URL of the policy ("Aureus OS") HTTP API', 'http://127.0.0.1:5000', ['channels', 'signer', 'cli']),
  v('API_KEY', 'Comma-separated API keys accepted for service-to-service calls (several allow rotation)', '', NET_SERVICES, true),
  v('RATE_LIMIT_MAX_REQUESTS', 'Requests per minute per API key and per client', '600', NET_SERVICES),
  v('BODY_LIMIT_BYTES', 'Largest accepted HTTP request body', '65536', NET_SERVICES),
  v('VECTOR_DB_TYPE', 'Semantic memory store: embedded | qdrant', 'embedded', ['policy']),
  v('QDRANT_URL', 'Qdrant base URL when VECTOR_DB_TYPE=qdrant', 'http://127.0.0.1:6333', ['policy']),
  v('POLICY_RULES_FILE', 'Path of the constitution (rules) file', 'policy/constitution.yaml', ['policy', 'signer', 'cli']),
  v('USE_KMS', 'Sign with AWS KMS instead of a local key', 'false', ['signer', 'cli']),
  v('KMS_KEY_ID', 'KMS key id or alias (key spec ECC_NIST_EDWARDS25519)', 'alias/aureus-bridge', ['signer', 'cli']),
  v('KMS_MODE', 'direct: every approval signed by KMS; delegated: KMS certifies a short-lived local key', 'direct', ['signer']),
  v('KMS_ENDPOINT', 'Override of the KMS endpoint (tests point it at a local KMS-protocol server)', '', ['signer', 'cli']),
  v('AWS_REGION', 'AWS region of the KMS key', 'us-east-1', ['signer', 'cli']),
  v('SIGNING_KEY_FILE', 'PKCS#8 PEM file of a local Ed25519 key; empty = ephemeral key (development)', '', ['signer', 'cli'], true),
  v('KEY_ROTATION_DAYS', 'Rotate the signing key after this many days', '30', ['signer']),
  v('APPROVAL_TTL_SECONDS', 'Lifetime of a signed approval', '300', ['signer']),
  v('APPROVAL_AUDIENCE', 'Audience written into approvals and required by the executor', 'aureus-executor', ['signer', 'executor']),
  v('CLOCK_SKEW_SECONDS', 'Clock skew tolerated when checking notBefore/expiresAt', '30', ['executor']),
  v('COMMAND_ALLOWLIST', 'Comma-separated commands the command handler may run (dry-run unless COMMAND_EXECUTE=true)', 'df,uptime,hostname,whoami,date,ls', ['executor']),
  v('COMMAND_EXECUTE', 'Really run allowlisted commands (false = dry run)', 'false', ['executor']),
  v('TELEGRAM_BOT_TOKEN', 'Telegram bot token; enables the Telegram adapter', '', ['channels'], true),
  v('TELEGRAM_WEBHOOK_SECRET', 'Secret token Telegram sends in X-Telegram-Bot-Api-Secret-Token', '', ['channels'], true),
  v('TELEGRAM_API_ROOT', 'Telegram Bot API root (tests point it at a local fake)', 'https://api.telegram.org', ['channels']),
  v('DISCORD_BOT_TOKEN', 'Discord bot token; enables the Discord adapter', '', ['channels'], true),
  v('DISCORD_PUBLIC_KEY', 'Discord application public key (hex) for interaction signatures', '', ['channels']),
  v('DISCORD_APPLICATION_ID', 'Discord application id', '', ['channels']),
  v('DISCORD_API_ROOT', 'Discord REST API root (tests point it at a local fake)', 'https://discord.com/api', ['channels']),
  v('SLACK_BOT_TOKEN', 'Slack bot token (xoxb-...); enables the Slack adapter', '', ['channels'], true),
  v('SLACK_SIGNING_SECRET', 'Slack signing secret for request signatures', '', ['channels'], true),
  v('SLACK_APP_TOKEN', 'Slack app-level token (Socket Mode)', '', ['channels'], true),
  v('SLACK_API_ROOT', 'Slack Web API root (tests point it at a local fake)', 'https://slack.com/api/', ['channels']),
  v('PUBLIC_BASE_URL', 'Public HTTPS base URL of the channels service (platform webhooks: Telegram setWebhook uses <base>/telegram/webhook); empty = Telegram long polling', '', ['channels']),
  v('WEBCHAT_ALLOWED_ORIGINS', 'Comma-separated origins allowed to open the web chat WebSocket (empty = any origin; set it in production)', '', ['channels']),
  v('WEBCHAT_SESSION_SECRET', 'HMAC secret of web chat sign-in tokens; empty = development sign-in (typed user id), refused when NODE_ENV=production', '', ['channels'], true),
  v('IDENTITY_LINKS_FILE', 'YAML file linking channel identities to Sentinel users and approver roles', 'config/identities.yaml', ['channels', 'policy', 'signer']),
];

export interface Config {
  service: ServiceName;
  nodeEnv: 'development' | 'production' | 'test';
  logLevel: LogLevel;
  instanceId: string;
  http: { host: string; port: number; wsPort: number; bodyLimitBytes: number };
  kafka: { brokers: string[]; clientId: string; client: 'platformatic' | 'kafkajs'; topicPrefix: string };
  registry: { url: string };
  postgres: { host: string; port: number; database: string; user: string; password: string };
  redis: { host: string; port: number; password: string; keyPrefix: string };
  urls: { bridge: string; aureusOs: string };
  security: { apiKeys: string[]; rateLimitMaxRequests: number };
  policy: { rulesFile: string; vectorStore: 'embedded' | 'qdrant'; qdrantUrl: string };
  signing: {
    useKms: boolean; kmsKeyId: string; kmsMode: 'direct' | 'delegated'; kmsEndpoint: string; awsRegion: string;
    keyFile: string; rotationDays: number; approvalTtlSeconds: number; audience: string;
  };
  executor: { clockSkewSeconds: number; commandAllowlist: string[]; commandExecute: boolean };
  identityLinksFile: string;
  channels: { publicBaseUrl: string; webchatAllowedOrigins: string[]; webchatSessionSecret: string };
  bots: {
    telegram: { token: string; webhookSecret: string; apiRoot: string };
    discord: { token: string; publicKey: string; applicationId: string; apiRoot: string };
    slack: { botToken: string; signingSecret: string; appToken: string; apiRoot: string };
  };
}

class Reader {
  readonly problems: string[] = [];
  private readonly env: Readonly<Record<string, string | undefined>>;
  private readonly service: ServiceName;
  constructor(env: Readonly<Record<string, string | undefined>>, service: ServiceName) {
    this.env = env;
    this.service = service;
  }

  raw(name: string): string {
    const spec = VARIABLES.find((s) => s.name === name);
    if (!spec) throw new TypeError(`config variable ${name} is not declared in VARIABLES`);
    const value = this.env[name];
    if (value !== undefined && value !== '') return value.trim();
    const d = spec.defaultValue;
    if (d === undefined) return '';
    return typeof d === 'string' ? d : (d[this.service] ?? '');
  }

  get<T>(name: string, parse: Parser<T>, fallback: T): T {
    const raw = this.raw(name);
    try {
      return parse(raw);
    } catch (error) {
      this.problems.push(`${name}: ${(error as Error).message}`);
      return fallback;
    }
  }
}

const str: Parser<string> = (raw) => raw;
function oneOf<T extends string>(...values: T[]): Parser<T> {
  return (raw) => {
    if ((values as string[]).includes(raw)) return raw as T;
    throw new Error(`must be one of ${values.join(', ')} (got "${raw}")`);
  };
}
function int(min: number, max: number): Parser<number> {
  return (raw) => {
    if (!/^-?\d+$/.test(raw)) throw new Error(`must be an integer (got "${raw}")`);
    const n = Number(raw);
    if (n < min || n > max) throw new Error(`must be between ${min} and ${max} (got ${n})`);
    return n;
  };
}
const bool: Parser<boolean> = (raw) => {
  if (/^(true|1|yes)$/i.test(raw)) return true;
  if (/^(false|0|no)$/i.test(raw)) return false;
  throw new Error(`must be true or false (got "${raw}")`);
};
const list: Parser<string[]> = (raw) => raw.split(',').map((s) => s.trim()).filter(Boolean);
const url: Parser<string> = (raw) => {
  const parsed = new URL(raw); // throws "Invalid URL"
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error(`must be an http(s) URL (got "${raw}")`);
  return raw.replace(/\/+$/, '');
};
const optionalUrl: Parser<string> = (raw) => (raw === '' ? '' : url(raw));
const brokers: Parser<string[]> = (raw) => {
  const items = list(raw);
  if (items.length === 0) throw new Error('must list at least one host:port');
  for (const item of items) {
    if (!/^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/.test(item)) throw new Error(`"${item}" is not host:port`);
  }
  return items;
};
const hexKey: Parser<string> = (raw) => {
  if (raw !== '' && !/^[0-9a-fA-F]{64}$/.test(raw)) throw new Error('must be 64 hex characters (an Ed25519 public key)');
  return raw.toLowerCase();
};
const topicPrefix: Parser<string> = (raw) => {
  if (!/^[A-Za-z0-9._-]*$/.test(raw)) throw new Error('may hold only letters, digits, ".", "_" and "-"');
  return raw;
};

/**
 * Reads and validates the configuration of `service` from `env`.
 * Throws SentinelError(SNT_CONFIG_INVALID) naming every bad variable at once.
 */
export function loadConfig(service: ServiceName, env: Readonly<Record<string, string | undefined>> = process.env): Config {
  const r = new Reader(env, service);
  const port = (name: string, fallback: number) => r.get(name, int(0, 65535), fallback);
  const config: Config = {
    service,
    nodeEnv: r.get('NODE_ENV', oneOf('development', 'production', 'test'), 'development'),
    logLevel: r.get('LOG_LEVEL', oneOf<LogLevel>('trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'), 'info'),
    instanceId: r.raw('INSTANCE_ID') || `${process.env.HOSTNAME ?? 'local'}-${process.pid}`,
    http: {
      host: r.get('HOST', str, '127.0.0.1'),
      port: port('PORT', 0),
      wsPort: port('WS_PORT', 8081),
      bodyLimitBytes: r.get('BODY_LIMIT_BYTES', int(1024, 16 * 1024 * 1024), 65536),
    },
    kafka: {
      brokers: r.get('KAFKA_BROKERS', brokers, []),
      clientId: r.get('KAFKA_CLIENT_ID', str, 'aureus-sentinel'),
      client: r.get('KAFKA_CLIENT', oneOf('platformatic', 'kafkajs'), 'platformatic'),
      topicPrefix: r.get('TOPIC_PREFIX', topicPrefix, ''),
    },
    registry: { url: r.get('SCHEMA_REGISTRY_URL', url, '') },
    postgres: {
      host: r.get('POSTGRES_HOST', str, ''),
      port: port('POSTGRES_PORT', 5432),
      database: r.get('POSTGRES_DB', str, ''),
      user: r.get('POSTGRES_USER', str, ''),
      password: r.get('POSTGRES_PASSWORD', str, ''),
    },
    redis: {
      host: r.get('REDIS_HOST', str, ''),
      port: port('REDIS_PORT', 6379),
      password: r.get('REDIS_PASSWORD', str, ''),
      keyPrefix: r.get('REDIS_KEY_PREFIX', str, 'sentinel:'),
    },
    urls: { bridge: r.get('BRIDGE_URL', url, ''), aureusOs: r.get('AUREUS_OS_URL', url, '') },
    security: {
      apiKeys: r.get('API_KEY', list, []),
      rateLimitMaxRequests: r.get('RATE_LIMIT_MAX_REQUESTS', int(1, 10_000_000), 600),
    },
    policy: {
      rulesFile: r.get('POLICY_RULES_FILE', str, ''),
      vectorStore: r.get('VECTOR_DB_TYPE', oneOf('embedded', 'qdrant'), 'embedded'),
      qdrantUrl: r.get('QDRANT_URL', url, ''),
    },
    signing: {
      useKms: r.get('USE_KMS', bool, false),
      kmsKeyId: r.get('KMS_KEY_ID', str, ''),
      kmsMode: r.get('KMS_MODE', oneOf('direct', 'delegated'), 'direct'),
      kmsEndpoint: r.get('KMS_ENDPOINT', optionalUrl, ''),
      awsRegion: r.get('AWS_REGION', str, ''),
      keyFile: r.get('SIGNING_KEY_FILE', str, ''),
      rotationDays: r.get('KEY_ROTATION_DAYS', int(1, 3650), 30),
      approvalTtlSeconds: r.get('APPROVAL_TTL_SECONDS', int(1, 86_400), 300),
      audience: r.get('APPROVAL_AUDIENCE', str, ''),
    },
    executor: {
      clockSkewSeconds: r.get('CLOCK_SKEW_SECONDS', int(0, 600), 30),
      commandAllowlist: r.get('COMMAND_ALLOWLIST', list, []),
      commandExecute: r.get('COMMAND_EXECUTE', bool, false),
    },
    identityLinksFile: r.get('IDENTITY_LINKS_FILE', str, ''),
    channels: {
      publicBaseUrl: r.get('PUBLIC_BASE_URL', optionalUrl, ''),
      webchatAllowedOrigins: r.get('WEBCHAT_ALLOWED_ORIGINS', list, []),
      webchatSessionSecret: r.get('WEBCHAT_SESSION_SECRET', str, ''),
    },
    bots: {
      telegram: {
        token: r.get('TELEGRAM_BOT_TOKEN', str, ''),
        webhookSecret: r.get('TELEGRAM_WEBHOOK_SECRET', str, ''),
        apiRoot: r.get('TELEGRAM_API_ROOT', url, ''),
      },
      discord: {
        token: r.get('DISCORD_BOT_TOKEN', str, ''),
        publicKey: r.get('DISCORD_PUBLIC_KEY', hexKey, ''),
        applicationId: r.get('DISCORD_APPLICATION_ID', str, ''),
        apiRoot: r.get('DISCORD_API_ROOT', url, ''),
      },
      slack: {
        botToken: r.get('SLACK_BOT_TOKEN', str, ''),
        signingSecret: r.get('SLACK_SIGNING_SECRET', str, ''),
        appToken: r.get('SLACK_APP_TOKEN', str, ''),
        apiRoot: r.get('SLACK_API_ROOT', url, ''),
      },
    },
  };
  if (config.signing.useKms && config.signing.kmsKeyId === '') r.problems.push('KMS_KEY_ID: required when USE_KMS=true');
  if (config.nodeEnv === 'production' && !config.signing.useKms && config.signing.keyFile === '' && service === 'signer') {
    r.problems.push('SIGNING_KEY_FILE: production needs USE_KMS=true or a key file (ephemeral keys are for development)');
  }
  if (config.bots.slack.botToken !== '' && config.bots.slack.signingSecret === '' && config.bots.slack.appToken === '') {
    r.problems.push('SLACK_SIGNING_SECRET: required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)');
  }
  if (config.bots.discord.token !== '' && config.bots.discord.publicKey === '') {
    r.problems.push('DISCORD_PUBLIC_KEY: required with DISCORD_BOT_TOKEN to verify interaction signatures');
  }
  if (r.problems.length > 0) {
    throw new SentinelError('SNT_CONFIG_INVALID', `invalid configuration for ${service}: ${r.problems.join('; ')}`, {
      details: { variables: r.problems.map((p) => p.slice(0, p.indexOf(':'))) },
    });
  }
  return config;
}

/** Values of every secret variable that is set, so loggers can refuse to print them. */
export function secretValues(env: Readonly<Record<string, string | undefined>> = process.env): string[] {
  const values: string[] = [];
  for (const spec of VARIABLES) {
    if (!spec.secret) continue;
    const raw = env[spec.name];
    if (raw === undefined || raw.length < 4) continue;
    values.push(...(spec.name === 'API_KEY' ? list(raw) : [raw]));
  }
  return values.filter((s) => s.length >= 4);
}
