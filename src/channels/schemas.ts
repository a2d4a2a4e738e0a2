// JSON Schemas of the channels service (schemas/json/*.schema.json), compiled once at import.
// Validation failures become SentinelError(SNT_VALIDATION_FAILED) whose details.paths name the
// fields (JSON Pointers), so callers can show the user exactly what is wrong.
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { SentinelError } from '../errors/index.ts';

// ajv-formats is CommonJS; under nodenext its default import is the plugin function itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

const SCHEMA_DIR = new URL('../../schemas/json/', import.meta.url);

function readSchema(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8')) as Record<string, unknown>;
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, discriminator: true });
addFormats(ajv, ['email', 'uri', 'date-time']);

export const SCHEMA_FILES = {
  action: 'action.schema.json',
  identities: 'identities.schema.json',
  webchatClient: 'webchat-client.schema.json',
  webchatServer: 'webchat-server.schema.json',
} as const;

/** A compiled schema: true when valid; `errors` then explains the last failure. */
export type SchemaValidator = ((data: unknown) => boolean) & { readonly errors?: ErrorObject[] | null };

function compile(file: string): SchemaValidator {
  const validate: ValidateFunction = ajv.compile(readSchema(file));
  return validate as SchemaValidator;
}

export const validateActionSchema: SchemaValidator = compile(SCHEMA_FILES.action);
export const validateIdentitiesSchema: SchemaValidator = compile(SCHEMA_FILES.identities);
export const validateWebchatClientFrame: SchemaValidator = compile(SCHEMA_FILES.webchatClient);
export const validateWebchatServerFrame: SchemaValidator = compile(SCHEMA_FILES.webchatServer);

export interface FieldProblem {
  /** JSON Pointer of the offending field ("" for the document itself). */
  path: string;
  message: string;
}

/** Turns ajv errors into one line per field, most specific first, without duplicates. */
export function fieldProblems(errors: readonly ErrorObject[] | null | undefined, prefix = ''): FieldProblem[] {
  const seen = new Set<string>();
  const problems: FieldProblem[] = [];
  const all = errors ?? [];
  const onlyDiscriminator = all.every((e) => e.keyword === 'discriminator');
  for (const error of all) {
    // oneOf/if wrappers repeat what their branches already said; so does a discriminator error
    // when the "type" field itself was already reported.
    if (error.keyword === 'oneOf' || error.keyword === 'if' || error.keyword === 'anyOf') continue;
    if (error.keyword === 'discriminator' && !onlyDiscriminator) continue;
    if (error.keyword === 'propertyNames') continue; // its nested error names the property
    let path = prefix + error.instancePath;
    let message = error.message ?? 'is invalid';
    if (error.propertyName !== undefined) {
      path = `${path}/${error.propertyName.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      message = `is not an allowed name (${message})`;
    } else if (error.keyword === 'additionalProperties') {
      const extra = (error.params as { additionalProperty?: string }).additionalProperty ?? '';
      path = `${path}/${extra.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      message = 'is not allowed';
    } else if (error.keyword === 'required') {
      const missing = (error.params as { missingProperty?: string }).missingProperty ?? '';
      path = `${path}/${missing.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      message = 'is required';
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, message });
  }
  if (problems.length === 0 && (errors?.length ?? 0) > 0) problems.push({ path: prefix, message: 'is invalid' });
  return problems;
}

/** The distinct field paths of a list of problems, in order. */
export function uniquePaths(problems: readonly FieldProblem[]): string[] {
  return [...new Set(problems.map((p) => p.path))];
}

/** SentinelError(SNT_VALIDATION_FAILED) naming every offending field. */
export function validationError(what: string, problems: readonly FieldProblem[]): SentinelError {
  const text = problems.map((p) => `${p.path || '/'} ${p.message}`).join('; ');
  return new SentinelError('SNT_VALIDATION_FAILED', `${what}: ${text}`, {
    details: { paths: uniquePaths(problems), problems: problems.map((p) => ({ ...p })) },
  });
}
