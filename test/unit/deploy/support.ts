// Shared helpers of the deployment-artefact tests (test/unit/deploy/*.unit.test.ts): loading the
// compose file and the Kubernetes manifests, the schema validators (Compose Specification JSON
// Schema vendored under test/vectors/schemas/, Kubernetes and KEDA validators generated from the
// upstream OpenAPI specs by the kubernetes-models packages), a strict unknown-field check, and
// small typed accessors for parsed YAML.
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import ts from 'typescript';
import { parse, parseAllDocuments } from 'yaml';
import { VARIABLES, type ServiceName, type VariableSpec } from '../../../src/config/index.ts';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const K8S_DIR = path.join(ROOT, 'k8s');

export function readText(relative: string): string {
  return readFileSync(path.join(ROOT, relative), 'utf8');
}

// ---------------------------------------------------------------- typed access to parsed YAML

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Obj = { [key: string]: Json };

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `key` of `value`; throws with the path when it is missing or not an object. */
export function obj(value: unknown, key: string): Obj {
  if (!isObj(value)) throw new TypeError(`not an object where "${key}" was expected`);
  const child = value[key];
  if (!isObj(child)) throw new TypeError(`"${key}" is not an object`);
  return child;
}

export function optObj(value: unknown, key: string): Obj | undefined {
  if (!isObj(value)) return undefined;
  const child = value[key];
  return isObj(child) ? child : undefined;
}

export function arr(value: unknown, key: string): Json[] {
  if (!isObj(value)) throw new TypeError(`not an object where "${key}" was expected`);
  const child = value[key];
  if (!Array.isArray(child)) throw new TypeError(`"${key}" is not a list`);
  return child;
}

export function optArr(value: unknown, key: string): Json[] {
  if (!isObj(value)) return [];
  const child = value[key];
  return Array.isArray(child) ? child : [];
}

export function str(value: unknown, key: string): string {
  if (!isObj(value)) throw new TypeError(`not an object where "${key}" was expected`);
  const child = value[key];
  if (typeof child !== 'string') throw new TypeError(`"${key}" is not a string (got ${JSON.stringify(child)})`);
  return child;
}

export function optStr(value: unknown, key: string): string | undefined {
  if (!isObj(value)) return undefined;
  const child = value[key];
  return typeof child === 'string' ? child : undefined;
}

export function num(value: unknown, key: string): number {
  if (!isObj(value)) throw new TypeError(`not an object where "${key}" was expected`);
  const child = value[key];
  if (typeof child !== 'number') throw new TypeError(`"${key}" is not a number (got ${JSON.stringify(child)})`);
  return child;
}

/** Deep copy of parsed YAML/JSON, for the negative tests that break a copy. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}

// ---------------------------------------------------------------- configuration (src/config)

export const VARIABLE_BY_NAME: ReadonlyMap<string, VariableSpec> = new Map(VARIABLES.map((v) => [v.name, v]));

/** The default of a variable for one service, as loadConfig resolves it ('' when none). */
export function defaultFor(spec: VariableSpec, service: ServiceName): string {
  const d = spec.defaultValue;
  if (d === undefined) return '';
  return typeof d === 'string' ? d : (d[service] ?? '');
}

/** True when a value points at this machine's loopback, which is wrong inside a container. */
export function isLoopback(value: string): boolean {
  return /(^|[/@,])(127\.\d+\.\d+\.\d+|localhost|\[::1\])([:/,]|$)/.test(value);
}

/** The four long-running services; `cli` is what the compose `init` service runs. */
export const APP_SERVICES: readonly ServiceName[] = ['channels', 'policy', 'signer', 'executor'];

/** The health path the seed gives each service (compose health checks). */
export const SEED_HEALTH_PATH: Readonly<Record<string, string>> = {
  channels: '/api/health',
  policy: '/api/health',
  signer: '/health',
  executor: '/health',
};

// ---------------------------------------------------------------- docker compose

/** docker-compose.yml parsed as compose reads it (YAML merge keys `<<` resolved). */
export function loadCompose(text = readText('docker-compose.yml')): Obj {
  const parsed: unknown = parse(text, { merge: true });
  if (!isObj(parsed)) throw new TypeError('docker-compose.yml is not a mapping');
  return parsed;
}

export interface VarRef {
  name: string;
  /** '' (plain ${VAR}), ':-' or '-' (default), ':?' or '?' (required). */
  op: '' | ':-' | '-' | ':?' | '?';
  arg: string;
}

const REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|-|:\?|\?)([^}]*))?\}/g;

/** Every ${VAR...} reference in a compose string value ($$ is an escaped dollar, not a reference). */
export function varRefs(value: string): VarRef[] {
  const unescaped = value.replaceAll('$$', '');
  return [...unescaped.matchAll(REF)].map((m) => ({
    name: m[1] ?? '',
    op: (m[2] ?? '') as VarRef['op'],
    arg: m[3] ?? '',
  }));
}

/** The value is exactly one reference and nothing else. */
export function soleRef(value: string): VarRef | undefined {
  const refs = varRefs(value);
  if (refs.length !== 1) return undefined;
  return /^\$\{[^}]*\}$/.test(value) ? refs[0] : undefined;
}

/** Compose interpolation of one string with the variables of an env file. */
export function interpolate(value: string, env: Readonly<Record<string, string>>): string {
  return value
    .split('$$')
    .map((part) =>
      part.replace(REF, (_m, name: string, op: string | undefined, arg: string | undefined) => {
        const set = Object.hasOwn(env, name);
        const v = env[name] ?? '';
        switch (op) {
          case ':-': return v !== '' ? v : (arg ?? '');
          case '-': return set ? v : (arg ?? '');
          case ':?': if (v === '') throw new Error(`${name}: ${arg ?? 'required'}`); return v;
          case '?': if (!set) throw new Error(`${name}: ${arg ?? 'required'}`); return v;
          default: return v;
        }
      }))
    .join('$');
}

/** Interpolates every string of a parsed compose file. */
export function interpolateAll(value: Json, env: Readonly<Record<string, string>>): Json {
  if (typeof value === 'string') return interpolate(value, env);
  if (Array.isArray(value)) return value.map((v) => interpolateAll(v, env));
  if (isObj(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateAll(v, env)]));
  return value;
}

/** A compose service's environment as a map (list form NAME=value accepted too). */
export function composeEnv(service: Obj): Record<string, string> {
  const env = service['environment'];
  const out: Record<string, string> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      if (typeof item !== 'string') continue;
      const eq = item.indexOf('=');
      out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1);
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null ? '' : String(v);
  }
  return out;
}

/** Parses a .env file: NAME=value lines (optionally double-quoted), comments and blanks ignored. */
export function parseEnvFile(text: string): { names: string[]; values: Record<string, string> } {
  const names: string[] = [];
  const values: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (!m) throw new Error(`not a NAME=value line: ${line}`);
    const name = m[1] ?? '';
    let value = m[2] ?? '';
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = JSON.parse(value) as string;
    names.push(name);
    values[name] = value;
  }
  return { names, values };
}

// Formats of the Compose Specification schema. compose-go implements them in Go; these follow
// the same grammar: Go durations, port mappings [[ip:]host[-range]:]container[-range][/proto],
// exposed ports container[-range][/proto], and CIDR subnets.
const DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const PORT_RANGE = String.raw`\d{1,5}(-\d{1,5})?`;
const IP = String.raw`(\d{1,3}(\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\])`;
const PORTS = new RegExp(`^((${IP}:)?(${PORT_RANGE})?:)?${PORT_RANGE}(/(tcp|udp|sctp))?$`);
const EXPOSE = new RegExp(`^${PORT_RANGE}(/(tcp|udp|sctp))?$`);
const SUBNET = /^(\d{1,3}(\.\d{1,3}){3}\/\d{1,2}|[0-9A-Fa-f:]+\/\d{1,3})$/;

function portNumberOk(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 65535;
}

export const COMPOSE_FORMATS = {
  duration: (v: string) => DURATION.test(v),
  ports: (v: string | number) => (typeof v === 'number' ? portNumberOk(v) : PORTS.test(v)),
  expose: (v: string | number) => (typeof v === 'number' ? portNumberOk(v) : EXPOSE.test(v)),
  subnet_ip_address: (v: string) => SUBNET.test(v),
} as const;

export const COMPOSE_SCHEMA_FILE = path.join(ROOT, 'test/vectors/schemas/compose-spec/compose-spec.json');

export function composeSchema(): Obj {
  const schema: unknown = JSON.parse(readFileSync(COMPOSE_SCHEMA_FILE, 'utf8'));
  if (!isObj(schema)) throw new TypeError('compose-spec.json is not an object');
  return schema;
}

/**
 * Removes the draft-04 style "id" annotations ("id": "#/definitions/service") that the schema
 * carries next to its draft 2019-09 keywords; ajv refuses "id" (only "$id" names a schema) and
 * they play no part in validation. Property names called "id" (under properties, etc.) stay.
 */
export function stripDraft4Ids(node: Json, nameMap = false): Json {
  if (Array.isArray(node)) return node.map((n) => stripDraft4Ids(n));
  if (!isObj(node)) return node;
  const out: Obj = {};
  for (const [k, v] of Object.entries(node)) {
    if (!nameMap && k === 'id' && typeof v === 'string') continue;
    out[k] = stripDraft4Ids(v, !nameMap && (k === 'properties' || k === 'patternProperties'));
  }
  return out;
}

let composeValidator: ValidateFunction | undefined;

/** The Compose Specification JSON Schema (draft 2019-09), compiled once with ajv. */
export function validateCompose(doc: unknown): ErrorObject[] {
  if (composeValidator === undefined) {
    // The schema names its draft as "http://json-schema.org/draft/2019-09/schema#" (ajv knows
    // it as https://json-schema.org/draft/2019-09/schema) and keeps draft-04 style "id"
    // annotations: ajv's 2019-09 dialect is used directly, the annotations are dropped and
    // other unknown annotations ignored (strict: false). Formats are still validated, and every
    // format the schema uses must be defined (the schema test checks it).
    const schema = stripDraft4Ids(composeSchema()) as Obj;
    delete schema['$schema'];
    const ajv = new Ajv2019({ allErrors: true, strict: false, validateFormats: true });
    ajv.addFormat('duration', { type: 'string', validate: COMPOSE_FORMATS.duration });
    // ajv applies a format to one data type; port numbers are checked by the schema's type.
    ajv.addFormat('ports', { type: 'string', validate: COMPOSE_FORMATS.ports });
    ajv.addFormat('expose', { type: 'string', validate: COMPOSE_FORMATS.expose });
    ajv.addFormat('subnet_ip_address', { type: 'string', validate: COMPOSE_FORMATS.subnet_ip_address });
    composeValidator = ajv.compile(schema);
  }
  const ok = composeValidator(doc);
  return ok ? [] : [...(composeValidator.errors ?? [])];
}

export function formatErrors(errors: readonly ErrorObject[]): string {
  return errors.map((e) => `${e.instancePath || '/'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)}`).join('\n');
}

// ---------------------------------------------------------------- Kubernetes manifests

export interface Manifest {
  file: string;
  index: number;
  doc: Obj;
  kind: string;
  apiVersion: string;
  name: string;
  namespace: string | undefined;
}

/** Every YAML document of a file, parsed; an empty document is skipped. */
export function loadYamlDocuments(file: string): Obj[] {
  const text = readFileSync(file, 'utf8');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return [];
  const out: Obj[] = [];
  for (const d of docs) {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
    const js: unknown = d.toJS();
    if (js === null || js === undefined) continue;
    if (!isObj(js)) throw new TypeError(`${file}: a document is not a mapping`);
    out.push(js);
  }
  return out;
}

export function toManifest(file: string, index: number, doc: Obj): Manifest {
  const metadata = optObj(doc, 'metadata');
  return {
    file: path.relative(ROOT, file),
    index,
    doc,
    kind: optStr(doc, 'kind') ?? '',
    apiVersion: optStr(doc, 'apiVersion') ?? '',
    name: optStr(metadata, 'name') ?? '',
    namespace: optStr(metadata, 'namespace'),
  };
}

export function loadKustomization(): Obj {
  const docs = loadYamlDocuments(path.join(K8S_DIR, 'kustomization.yaml'));
  const k = docs[0];
  if (docs.length !== 1 || k === undefined) throw new Error('kustomization.yaml must hold one document');
  return k;
}

/** The manifests `kubectl apply -k k8s/` applies: every document of every resource file. */
export function loadK8sManifests(): Manifest[] {
  const files = arr(loadKustomization(), 'resources').map((r) => {
    if (typeof r !== 'string') throw new TypeError('a kustomization resource is not a path');
    return path.join(K8S_DIR, r);
  });
  return files.flatMap((file) => loadYamlDocuments(file).map((doc, i) => toManifest(file, i, doc)));
}

export function loadManifestFile(relative: string): Manifest[] {
  const file = path.join(ROOT, relative);
  return loadYamlDocuments(file).map((doc, i) => toManifest(file, i, doc));
}

export function k8sYamlFiles(): string[] {
  return readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') || f.endsWith('.yml')).sort();
}

export function find(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const m = manifests.find((x) => x.kind === kind && x.name === name);
  if (!m) throw new Error(`no ${kind} ${name} in k8s/`);
  return m;
}

/** Where the generated model of an apiVersion/kind lives (kubernetes-models, @kubernetes-models/keda). */
export function modelModule(apiVersion: string, kind: string): string | undefined {
  if (!/^[A-Z][A-Za-z0-9]*$/.test(kind)) return undefined;
  if (apiVersion === 'keda.sh/v1alpha1') return `@kubernetes-models/keda/keda.sh/v1alpha1/${kind}`;
  if (/^v\d+$/.test(apiVersion)) return `kubernetes-models/${apiVersion}/${kind}`;
  if (/^[a-z0-9.-]+\/v\d+((alpha|beta)\d+)?$/.test(apiVersion)) return `kubernetes-models/${apiVersion}/${kind}`;
  return undefined;
}

interface ModelInstance { validate(): void }
type ModelClass = new (data: unknown) => ModelInstance;

/**
 * Validates one manifest with the ajv validator that kubernetes-models generated from the
 * Kubernetes OpenAPI spec (or from the KEDA CRD's openAPIV3Schema): types, required fields,
 * enums, formats (int32, int-or-string, quantity ...). Returns the errors, [] when valid.
 */
export async function validateK8s(doc: Obj): Promise<string[]> {
  const apiVersion = optStr(doc, 'apiVersion') ?? '';
  const kind = optStr(doc, 'kind') ?? '';
  const spec = modelModule(apiVersion, kind);
  if (spec === undefined) return [`no schema for apiVersion "${apiVersion}" kind "${kind}"`];
  let mod: Record<string, unknown>;
  try {
    mod = (await import(spec)) as Record<string, unknown>;
  } catch {
    return [`no schema for apiVersion "${apiVersion}" kind "${kind}"`];
  }
  const Model = mod[kind] as ModelClass | undefined;
  if (typeof Model !== 'function') return [`no schema for apiVersion "${apiVersion}" kind "${kind}"`];
  try {
    new Model(doc).validate();
    return [];
  } catch (error) {
    return String((error as Error).message).split(', ');
  }
}

/**
 * Strict check (unknown fields, required fields, enums): type-checks each manifest as an object
 * literal of the TypeScript interface that kubernetes-models generated from the same OpenAPI
 * spec. TypeScript's excess-property check rejects any field the API does not define — the
 * ajv validators accept those, as the API server would silently drop them. Returns one entry
 * per diagnostic, naming the manifest.
 */
export function strictCheckK8s(manifests: readonly Manifest[]): string[] {
  const virtual = path.join(ROOT, 'test/unit/deploy/__strict_manifests__.ts');
  const lines: string[] = [];
  const owner: Manifest[] = [];
  const problems: string[] = [];
  manifests.forEach((m, i) => {
    const spec = modelModule(m.apiVersion, m.kind);
    if (spec === undefined) {
      problems.push(`${m.file}#${m.index} ${m.kind}/${m.name}: no typed model for ${m.apiVersion}`);
      return;
    }
    const body = JSON.stringify(m.doc, null, 2).split('\n');
    body[0] = `export const m${i}: import(${JSON.stringify(spec)}).I${m.kind} = ${body[0] ?? ''}`;
    for (const line of body) {
      lines.push(line);
      owner.push(m);
    }
    lines.push(';');
    owner.push(m);
  });
  const source = lines.join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    types: [],
    lib: ['lib.es2022.d.ts'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const readFile = host.readFile.bind(host);
  host.getSourceFile = (file, languageVersion, onError, shouldCreate) =>
    file === virtual ? ts.createSourceFile(file, source, languageVersion, true) : getSourceFile(file, languageVersion, onError, shouldCreate);
  host.fileExists = (file) => file === virtual || fileExists(file);
  host.readFile = (file) => (file === virtual ? source : readFile(file));
  const program = ts.createProgram([virtual], options, host);
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file?.fileName !== virtual || d.start === undefined) {
      problems.push(`type check: ${message}`);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    const m = owner[line];
    const where = m ? `${m.file}#${m.index} ${m.kind}/${m.name}` : 'manifest';
    problems.push(`${where}: ${message} (at: ${(lines[line] ?? '').trim()})`);
  }
  return problems;
}

// ---------------------------------------------------------------- Deployments

export function podSpec(deployment: Manifest): Obj {
  return obj(obj(obj(deployment.doc, 'spec'), 'template'), 'spec');
}

export function podLabels(deployment: Manifest): Record<string, string> {
  const labels = obj(obj(obj(obj(deployment.doc, 'spec'), 'template'), 'metadata'), 'labels');
  return Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]));
}

export function mainContainer(deployment: Manifest): Obj {
  const containers = arr(podSpec(deployment), 'containers');
  const c = containers.find((x) => isObj(x) && x['name'] === deployment.name);
  if (!isObj(c)) throw new Error(`Deployment ${deployment.name} has no container named ${deployment.name}`);
  return c;
}

export function containerPorts(container: Obj): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of optArr(container, 'ports')) out.set(optStr(p, 'name') ?? '', num(p, 'containerPort'));
  return out;
}

export type EnvSource =
  | { from: 'value'; value: string }
  | { from: 'configMap'; configMap: string; key: string; value: string }
  | { from: 'secret'; secret: string; key: string; optional: boolean }
  | { from: 'field'; fieldPath: string }
  | { from: 'other' };

/**
 * The environment a container gets: envFrom ConfigMaps first, then env entries (which win, as
 * in Kubernetes). ConfigMaps are looked up in `manifests`; a missing one is an error.
 */
export function containerEnv(container: Obj, manifests: readonly Manifest[]): Map<string, EnvSource> {
  const env = new Map<string, EnvSource>();
  for (const from of optArr(container, 'envFrom')) {
    const cmRef = optObj(from, 'configMapRef');
    const secretRef = optObj(from, 'secretRef');
    if (secretRef) throw new Error(`envFrom secretRef ${optStr(secretRef, 'name') ?? ''}: secrets must be referenced key by key`);
    if (!cmRef) continue;
    const name = str(cmRef, 'name');
    const cm = find(manifests, 'ConfigMap', name);
    for (const [key, value] of Object.entries(optObj(cm.doc, 'data') ?? {})) {
      env.set(key, { from: 'configMap', configMap: name, key, value: String(value) });
    }
  }
  for (const e of optArr(container, 'env')) {
    const name = str(e, 'name');
    const vf = optObj(e, 'valueFrom');
    if (!vf) {
      env.set(name, { from: 'value', value: optStr(e, 'value') ?? '' });
      continue;
    }
    const sk = optObj(vf, 'secretKeyRef');
    const ck = optObj(vf, 'configMapKeyRef');
    const fr = optObj(vf, 'fieldRef');
    if (sk) env.set(name, { from: 'secret', secret: str(sk, 'name'), key: str(sk, 'key'), optional: sk['optional'] === true });
    else if (ck) {
      const cm = find(manifests, 'ConfigMap', str(ck, 'name'));
      env.set(name, { from: 'configMap', configMap: cm.name, key: str(ck, 'key'), value: String(optObj(cm.doc, 'data')?.[str(ck, 'key')] ?? '') });
    } else if (fr) env.set(name, { from: 'field', fieldPath: str(fr, 'fieldPath') });
    else env.set(name, { from: 'other' });
  }
  return env;
}

/** matchLabels + matchExpressions (In, NotIn, Exists, DoesNotExist) against a label set. */
export function selectorMatches(selector: Obj | undefined, labels: Readonly<Record<string, string>>): boolean {
  if (selector === undefined) return false;
  for (const [k, v] of Object.entries(optObj(selector, 'matchLabels') ?? {})) {
    if (labels[k] !== String(v)) return false;
  }
  for (const expr of optArr(selector, 'matchExpressions')) {
    const key = str(expr, 'key');
    const op = str(expr, 'operator');
    const values = optArr(expr, 'values').map(String);
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    if (op === 'In' && !(has && value !== undefined && values.includes(value))) return false;
    if (op === 'NotIn' && has && value !== undefined && values.includes(value)) return false;
    if (op === 'Exists' && !has) return false;
    if (op === 'DoesNotExist' && has) return false;
  }
  return true;
}

// ---------------------------------------------------------------- topics.yaml

export interface TopicDecl { name: string; partitions: number; consumers: string[]; cleanupPolicy: string }

export function loadTopics(): TopicDecl[] {
  const parsed: unknown = parse(readText('topics.yaml'));
  return arr(parsed, 'topics').map((t) => ({
    name: str(t, 'name'),
    partitions: num(t, 'partitions'),
    consumers: optArr(t, 'consumers').map(String),
    cleanupPolicy: optStr(optObj(t, 'config'), 'cleanup.policy') ?? 'delete',
  }));
}
