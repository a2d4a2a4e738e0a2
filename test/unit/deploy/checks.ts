// The consistency rules between the deployment artefacts and src/config VARIABLES, as pure
// functions returning the problems they find ([] when consistent), so that the tests can run
// them on the real files and on deliberately broken copies.
import { VARIABLES, type ServiceName } from '../../../src/config/index.ts';
import {
  APP_SERVICES, SEED_HEALTH_PATH, VARIABLE_BY_NAME, composeEnv, containerEnv, containerPorts,
  defaultFor, isLoopback, mainContainer, obj, optArr, parseEnvFile, soleRef, varRefs,
  type Manifest, type Obj,
} from './support.ts';

export function portOf(service: ServiceName): number {
  const spec = VARIABLE_BY_NAME.get('PORT');
  if (!spec) throw new Error('PORT is not declared');
  return Number(defaultFor(spec, service));
}

/** Variables a service reads whose default only works on the host (loopback addresses). */
export function hostOnlyDefaults(service: ServiceName): string[] {
  return VARIABLES.filter((v) => v.services.includes(service) && isLoopback(defaultFor(v, service))).map((v) => v.name);
}

/** Secrets a running service cannot do without in our deployments (the infrastructure has passwords). */
export function requiredSecrets(service: ServiceName): string[] {
  const names = ['POSTGRES_PASSWORD', 'REDIS_PASSWORD'];
  if ((APP_SERVICES as readonly string[]).includes(service)) names.push('API_KEY');
  return names;
}

/** A compose service running `service` (compose `init` runs the cli). */
export function checkComposeService(name: string, service: ServiceName, svc: Obj): string[] {
  const problems: string[] = [];
  const env = composeEnv(svc);
  for (const [key, value] of Object.entries(env)) {
    const spec = VARIABLE_BY_NAME.get(key);
    if (!spec) {
      problems.push(`${name}: ${key} is not declared in src/config VARIABLES`);
      continue;
    }
    if (!spec.services.includes(service)) problems.push(`${name}: ${key} is not read by ${service}`);
    const ref = soleRef(value);
    if (spec.secret) {
      // A secret comes from .env through a reference of its own name, without a default.
      if (!ref) problems.push(`${name}: secret ${key} must be exactly one \${${key}...} reference, not "${value}"`);
      else if (ref.name !== key) problems.push(`${name}: secret ${key} must come from \${${key}}, not \${${ref.name}}`);
      else if ((ref.op === ':-' || ref.op === '-') && ref.arg !== '') problems.push(`${name}: secret ${key} must have no default`);
    } else if (ref) {
      // A tunable taken from .env falls back to the src/config default.
      if (ref.name !== key) problems.push(`${name}: ${key} must come from \${${key}}, not \${${ref.name}}`);
      else if ((ref.op === ':-' || ref.op === '-') && ref.arg !== defaultFor(spec, service)) {
        problems.push(`${name}: ${key} falls back to "${ref.arg}", src/config to "${defaultFor(spec, service)}"`);
      }
    } else if (varRefs(value).length > 0) {
      problems.push(`${name}: ${key}=${value} mixes a reference with text`);
    }
  }
  for (const key of hostOnlyDefaults(service)) {
    const value = env[key];
    if (value === undefined) problems.push(`${name}: ${key} is not set (its default only works on the host)`);
    else if (value === '' || isLoopback(value) || varRefs(value).length > 0) problems.push(`${name}: ${key}=${value} must be a fixed address inside the compose network`);
  }
  for (const key of requiredSecrets(service)) {
    const ref = soleRef(env[key] ?? '');
    if (!ref || ref.op !== ':?') problems.push(`${name}: ${key} must be required (\${${key}:?...})`);
  }
  if (service === 'cli') return problems;
  if (env['HOST'] !== '0.0.0.0') problems.push(`${name}: HOST must be 0.0.0.0 (got ${env['HOST']})`);
  if (env['PORT'] !== String(portOf(service))) problems.push(`${name}: PORT must be ${portOf(service)} (got ${env['PORT']})`);
  const published = optArr(svc, 'ports').map((p) => Number(String(p).split(':').pop()?.split('/')[0]));
  if (!published.includes(portOf(service))) problems.push(`${name}: port ${portOf(service)} is not published`);
  if (service === 'channels') {
    const ws = defaultFor(VARIABLE_BY_NAME.get('WS_PORT')!, 'channels');
    if (env['WS_PORT'] !== ws) problems.push(`${name}: WS_PORT must be ${ws}`);
    if (!published.includes(Number(ws))) problems.push(`${name}: the WebSocket port ${ws} is not published`);
  }
  const hc = svc['healthcheck'];
  const test = hc === undefined ? '' : optArr(hc, 'test').map(String).join(' ');
  const url = /https?:\/\/[^'"\s)]+/.exec(test)?.[0];
  if (!url) problems.push(`${name}: the health check calls no URL`);
  else {
    const u = new URL(url);
    if (Number(u.port) !== portOf(service)) problems.push(`${name}: the health check calls port ${u.port}, not ${portOf(service)}`);
    if (u.pathname !== SEED_HEALTH_PATH[service]) problems.push(`${name}: the health check calls ${u.pathname}, the seed says ${SEED_HEALTH_PATH[service]}`);
  }
  if (optArr(svc, 'command')[0] !== service) problems.push(`${name}: command must start with "${service}" (the entrypoint selects the service)`);
  return problems;
}

/** A Deployment running `service`, with the ConfigMaps it reads among `manifests`. */
export function checkDeployment(d: Manifest, manifests: readonly Manifest[]): string[] {
  const service = d.name as ServiceName;
  const problems: string[] = [];
  const container = mainContainer(d);
  const env = containerEnv(container, manifests);
  for (const [key, src] of env) {
    const spec = VARIABLE_BY_NAME.get(key);
    if (!spec) {
      problems.push(`${service}: ${key} is not declared in src/config VARIABLES`);
      continue;
    }
    if (!spec.services.includes(service)) problems.push(`${service}: ${key} is not read by ${service}`);
    if (spec.secret) {
      if (src.from !== 'secret') problems.push(`${service}: secret ${key} must come from a secretKeyRef, not a ${src.from}`);
      else if (src.secret !== 'aureus-secrets' || src.key !== key) problems.push(`${service}: secret ${key} must be key ${key} of aureus-secrets`);
    } else if (src.from === 'secret') {
      problems.push(`${service}: ${key} is not a secret variable but comes from a Secret`);
    }
  }
  for (const key of hostOnlyDefaults(service)) {
    const src = env.get(key);
    if (!src || (src.from !== 'value' && src.from !== 'configMap')) problems.push(`${service}: ${key} is not set (its default only works on the host)`);
    else if (src.value === '' || isLoopback(src.value)) problems.push(`${service}: ${key}=${src.value} must be a cluster address`);
  }
  for (const key of requiredSecrets(service)) {
    const src = env.get(key);
    if (!src || src.from !== 'secret' || src.optional) problems.push(`${service}: ${key} must be a required secretKeyRef`);
  }
  const host = env.get('HOST');
  if (!host || host.from !== 'value' || host.value !== '0.0.0.0') problems.push(`${service}: HOST must be 0.0.0.0`);
  const instance = env.get('INSTANCE_ID');
  if (!instance || instance.from !== 'field' || instance.fieldPath !== 'metadata.name') problems.push(`${service}: INSTANCE_ID must be the pod name`);
  const ports = containerPorts(container);
  const port = env.get('PORT');
  if (!port || port.from !== 'value' || port.value !== String(portOf(service))) problems.push(`${service}: PORT must be ${portOf(service)}`);
  if (ports.get('http') !== portOf(service)) problems.push(`${service}: container port http must be ${portOf(service)} (got ${ports.get('http')})`);
  if (service === 'channels') {
    const ws = env.get('WS_PORT');
    const want = defaultFor(VARIABLE_BY_NAME.get('WS_PORT')!, 'channels');
    if (!ws || (ws.from !== 'configMap' && ws.from !== 'value') || ws.value !== want) problems.push(`channels: WS_PORT must be ${want}`);
    if (ports.get('ws') !== Number(want)) problems.push(`channels: container port ws must be ${want}`);
  }
  for (const probe of ['livenessProbe', 'readinessProbe']) {
    if (obj(obj(container, probe), 'httpGet')['port'] !== 'http') problems.push(`${service}: ${probe} must use the http port`);
  }
  return problems;
}

/** .env.example: every variable once, nothing else, no secret values. */
export function checkEnvExample(text: string): string[] {
  const problems: string[] = [];
  const { names, values } = parseEnvFile(text);
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  for (const v of VARIABLES) {
    const c = counts.get(v.name) ?? 0;
    if (c !== 1) problems.push(`${v.name} appears ${c} times`);
  }
  for (const n of counts.keys()) if (!VARIABLE_BY_NAME.has(n)) problems.push(`${n} is not a VARIABLES entry`);
  for (const v of VARIABLES) {
    const value = values[v.name] ?? '';
    if (v.secret && value !== '' && value !== 'change-me') problems.push(`${v.name} is a secret: leave it empty or change-me`);
    if (!v.secret && typeof v.defaultValue === 'string' && value !== '' && value !== v.defaultValue) problems.push(`${v.name}=${value} differs from the default ${v.defaultValue}`);
    if (!v.secret && typeof v.defaultValue === 'object' && value !== '') problems.push(`${v.name} has per-service defaults: leave it empty`);
  }
  return problems;
}
