import type { ErrorCodeSpec } from './spec.ts';

/** Codes of the shared core: input validation, HTTP, serialisation, dependencies, configuration. */
export const CORE_CODES = {
  SNT_VALIDATION_FAILED: { status: 400, retriable: false, summary: 'The input does not match its schema; `details.paths` names the fields.' },
  SNT_MALFORMED_JSON: { status: 400, retriable: false, summary: 'The body is not valid JSON.' },
  SNT_UNSUPPORTED_MEDIA_TYPE: { status: 415, retriable: false, summary: 'The body is not application/json.' },
  SNT_PAYLOAD_TOO_LARGE: { status: 413, retriable: false, summary: 'The body exceeds the size limit.' },
  SNT_UNAUTHENTICATED: { status: 401, retriable: false, summary: 'No valid API key or platform signature.' },
  SNT_FORBIDDEN: { status: 403, retriable: false, summary: 'Authenticated, but not allowed to do this.' },
  SNT_NOT_FOUND: { status: 404, retriable: false, summary: 'No such resource.' },
  SNT_RATE_LIMITED: { status: 429, retriable: true, summary: 'Too many requests; see Retry-After.' },
  SNT_CONFLICT: { status: 409, retriable: false, summary: 'The request conflicts with the current state.' },
  SNT_SERDE_BAD_MAGIC: { status: 400, retriable: false, summary: 'A record does not start with the Confluent magic byte 0.' },
  SNT_SERDE_TRUNCATED: { status: 400, retriable: false, summary: 'A record is shorter than the 5-byte Confluent header.' },
  SNT_SERDE_UNKNOWN_SCHEMA: { status: 400, retriable: false, summary: 'The schema id is unknown to the registry or not a version of this topic\'s subject.' },
  SNT_SERDE_DECODE_FAILED: { status: 400, retriable: false, summary: 'The Avro body cannot be decoded with its writer schema (or has trailing bytes).' },
  SNT_SERDE_RECORD_TOO_LARGE: { status: 400, retriable: false, summary: 'A record is larger than the configured maximum.' },
  SNT_SERDE_ENCODE_FAILED: { status: 500, retriable: false, summary: 'A value does not match the schema it is being encoded with.' },
  SNT_REGISTRY_INCOMPATIBLE: { status: 409, retriable: false, summary: 'The registry refused a schema as incompatible with its subject.' },
  SNT_DEPENDENCY_UNAVAILABLE: { status: 503, retriable: true, summary: 'Kafka, the registry, PostgreSQL, Redis or KMS cannot be reached.' },
  SNT_TIMEOUT: { status: 504, retriable: true, summary: 'A dependency did not answer in time.' },
  SNT_CONFIG_INVALID: { status: 500, retriable: false, summary: 'A configuration variable is missing or invalid; the message names it.' },
  SNT_INTERNAL: { status: 500, retriable: false, summary: 'An unexpected error (a bug); the request or record changed nothing.' },
} as const satisfies Record<string, ErrorCodeSpec>;
