// The deployment artefacts agree with the code and with the seed design:
//  - docker-compose.yml and the k8s Deployments use only variables of src/config VARIABLES that
//    the service reads, set every variable whose default (loopback) cannot work in a container,
//    take every secret from a reference (${VAR} / secretKeyRef), never from a literal;
//  - ports and health paths match the config defaults and the seed;
//  - .env.example lists every variable once, with safe placeholders for secrets;
//  - resources, probes, HPA and KEDA numbers match the seed, topics.yaml and each other.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ServiceName } from '../../../src/config/index.ts';
import {
  APP_SERVICES, ROOT, VARIABLE_BY_NAME, arr, clone, composeEnv, containerEnv, containerPorts, find,
  isObj, k8sYamlFiles, loadCompose, loadK8sManifests, loadKustomization, loadManifestFile, loadTopics,
  mainContainer, num, obj, optArr, optObj, optStr, parseEnvFile, podLabels, podSpec, readText,
  selectorMatches, soleRef, str, varRefs, type Json, type Obj,
} from './support.ts';
import { checkComposeService, checkDeployment, checkEnvExample, portOf } from './checks.ts';

const compose = loadCompose();
const services = obj(compose, 'services');
const manifests = loadK8sManifests();
const envExample = parseEnvFile(readText('.env.example'));
const topics = loadTopics();

/** compose service name -> the ServiceName whose variables it reads. */
const COMPOSE_APPS: Readonly<Record<string, ServiceName>> = {
  channels: 'channels', policy: 'policy', signer: 'signer', executor: 'executor', init: 'cli',
};

/** The seed's resources ("Vertical Scaling"); the executor's are ours (justified in k8s/executor.yaml). */
const RESOURCES: Readonly<Record<string, { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } }>> = {
  channels: { requests: { cpu: '500m', memory: '512Mi' }, limits: { cpu: '2000m', memory: '2Gi' } },
  signer: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } },
  policy: { requests: { cpu: '1000m', memory: '1Gi' }, limits: { cpu: '4000m', memory: '4Gi' } },
  executor: { requests: { cpu: '250m', memory: '256Mi' }, limits: { cpu: '1000m', memory: '1Gi' } },
};

/** The seed's HPA: CPU 70 %, memory 80 %, 3-10 replicas, scale-up 30 s, scale-down 300 s. */
const SEED_HPA = { cpu: 70, memory: 80, min: 3, max: 10, up: 30, down: 300 };

/** The Kafka consumer group of each consumer service (topics.yaml `consumers`). */
const GROUPS: Readonly<Record<string, string>> = { policy: 'sentinel-policy', signer: 'sentinel-signer', executor: 'sentinel-executor' };

/** The work topics whose lag scales each consumer (the pipeline of BRIEF §2). */
const WORK_TOPICS: Readonly<Record<string, readonly string[]>> = {
  policy: ['sentinel.intents'],
  signer: ['sentinel.decisions', 'sentinel.human-approvals'],
  executor: ['sentinel.approvals'],
};

/** The seed's Service names. */
const SEED_SERVICES: Readonly<Record<string, string>> = { 'openclaw-service': 'channels', 'bridge-service': 'signer', 'aureus-os-service': 'policy' };

function composeService(name: string): Obj {
  return obj(services, name);
}

function allStrings(node: Json, out: string[] = []): string[] {
  if (typeof node === 'string') out.push(node);
  else if (Array.isArray(node)) for (const n of node) allStrings(n, out);
  else if (isObj(node)) for (const v of Object.values(node)) allStrings(v, out);
  return out;
}

function urlHostPort(value: string): { host: string; port: number } {
  const u = new URL(value.includes('://') ? value : `tcp://${value}`);
  return { host: u.hostname, port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)) };
}

// ================================================================= docker compose

describe('docker-compose.yml and src/config VARIABLES', () => {
  for (const [name, service] of Object.entries(COMPOSE_APPS)) {
    it(`${name} (${service}): only variables it reads, container addresses, secrets by reference, seed ports and health path`, () => {
      assert.deepEqual(checkComposeService(name, service, composeService(name)), []);
    });
  }

  describe('the compose checks catch a broken service', () => {
    const broken = (name: string, f: (env: Obj, svc: Obj) => void): string[] => {
      const svc = clone(composeService(name));
      f(obj(svc, 'environment'), svc);
      return checkComposeService(name, COMPOSE_APPS[name] ?? 'cli', svc);
    };
    it('a variable the service does not read', () => {
      assert.deepEqual(broken('signer', (env) => { env['QDRANT_URL'] = 'http://qdrant:6333'; }), ['signer: QDRANT_URL is not read by signer']);
    });
    it('a variable src/config does not declare', () => {
      assert.deepEqual(broken('executor', (env) => { env['EXECUTOR_THREADS'] = '4'; }), ['executor: EXECUTOR_THREADS is not declared in src/config VARIABLES']);
    });
    it('a literal secret, and a secret with a default', () => {
      assert.deepEqual(broken('policy', (env) => { env['API_KEY'] = 'k-123'; }), [
        'policy: secret API_KEY must be exactly one ${API_KEY...} reference, not "k-123"',
        'policy: API_KEY must be required (${API_KEY:?...})',
      ]);
      assert.deepEqual(broken('channels', (env) => { env['SLACK_BOT_TOKEN'] = '${SLACK_BOT_TOKEN:-xoxb-1}'; }), ['channels: secret SLACK_BOT_TOKEN must have no default']);
    });
    it('a missing or loopback service address', () => {
      assert.deepEqual(broken('executor', (env) => { delete env['BRIDGE_URL']; }), ['executor: BRIDGE_URL is not set (its default only works on the host)']);
      assert.deepEqual(broken('channels', (env) => { env['AUREUS_OS_URL'] = 'http://127.0.0.1:5000'; }), ['channels: AUREUS_OS_URL=http://127.0.0.1:5000 must be a fixed address inside the compose network']);
    });
    it('a tunable whose fallback differs from src/config', () => {
      assert.deepEqual(broken('signer', (env) => { env['RATE_LIMIT_MAX_REQUESTS'] = '${RATE_LIMIT_MAX_REQUESTS:-100}'; }), ['signer: RATE_LIMIT_MAX_REQUESTS falls back to "100", src/config to "600"']);
    });
    it('a port, bind address or health path that does not match', () => {
      assert.deepEqual(broken('policy', (env) => { env['PORT'] = '5001'; }), ['policy: PORT must be 5000 (got 5001)']);
      assert.deepEqual(broken('signer', (env) => { delete env['HOST']; }), [
        'signer: HOST is not set (its default only works on the host)',
        'signer: HOST must be 0.0.0.0 (got undefined)',
      ]);
      assert.deepEqual(broken('channels', (_env, svc) => { svc['ports'] = ['127.0.0.1:8080:8080']; }), ['channels: the WebSocket port 8081 is not published']);
      assert.deepEqual(broken('executor', (_env, svc) => {
        obj(svc, 'healthcheck')['test'] = ['CMD', 'node', '-e', "fetch('http://127.0.0.1:7000/api/health')"];
      }), ['executor: the health check calls /api/health, the seed says /health']);
    });
  });

  it('points every service address at a service or alias of the compose network, on its port', () => {
    const known = new Map<string, string>();
    for (const [name, svc] of Object.entries(services)) {
      known.set(name, name);
      for (const net of Object.values(optObj(svc, 'networks') ?? {})) {
        for (const alias of optArr(net, 'aliases')) known.set(String(alias), name);
      }
    }
    const expected: Record<string, [string, number]> = {
      KAFKA_BROKERS: ['kafka', 9092], SCHEMA_REGISTRY_URL: ['registry', 8080], POSTGRES_HOST: ['postgres', 0],
      REDIS_HOST: ['redis', 0], QDRANT_URL: ['qdrant', 6333], BRIDGE_URL: ['signer', portOf('signer')],
      AUREUS_OS_URL: ['policy', portOf('policy')],
    };
    let checked = 0;
    for (const name of Object.keys(COMPOSE_APPS)) {
      for (const [key, value] of Object.entries(composeEnv(composeService(name)))) {
        const want = expected[key];
        if (!want) continue;
        const { host, port } = key.endsWith('_HOST') ? { host: value, port: 0 } : urlHostPort(value);
        assert.equal(known.get(host), want[0], `${name}: ${key}=${value} must reach ${want[0]}`);
        if (want[1] !== 0) assert.equal(port, want[1], `${name}: ${key} port`);
        checked++;
      }
    }
    assert.ok(checked >= 20, `only ${checked} addresses checked`);
    // The seed's names on the network: openclaw, bridge, aureus-os.
    assert.equal(known.get('openclaw'), 'channels');
    assert.equal(known.get('bridge'), 'signer');
    assert.equal(known.get('aureus-os'), 'policy');
  });

  it('puts every service on the aureus-network bridge network', () => {
    assert.equal(str(obj(obj(compose, 'networks'), 'aureus-network'), 'driver'), 'bridge');
    for (const [name, svc] of Object.entries(services)) {
      const nets = svc === null || !isObj(svc) ? [] : Array.isArray(svc['networks']) ? svc['networks'].map(String) : Object.keys(optObj(svc, 'networks') ?? {});
      assert.deepEqual(nets, ['aureus-network'], `${name} networks`);
    }
  });

  it('health-checks every long-running service and orders start-up on health', () => {
    for (const [name, svc] of Object.entries(services)) {
      if (name !== 'init') assert.ok(optObj(svc, 'healthcheck'), `${name} has no health check`);
      for (const [dep, cond] of Object.entries(optObj(svc, 'depends_on') ?? {})) {
        const condition = str(cond, 'condition');
        if (dep === 'init') assert.equal(condition, 'service_completed_successfully', `${name} -> init`);
        else {
          assert.equal(condition, 'service_healthy', `${name} -> ${dep}`);
          assert.ok(optObj(composeService(dep), 'healthcheck'), `${dep} must have a health check`);
        }
      }
    }
    for (const name of APP_SERVICES) {
      const deps = Object.keys(optObj(composeService(name), 'depends_on') ?? {});
      for (const d of ['init', 'kafka', 'registry', 'postgres', 'redis']) assert.ok(deps.includes(d), `${name} must wait for ${d}`);
    }
    assert.ok(Object.keys(obj(composeService('policy'), 'depends_on')).includes('qdrant'));
    // The seed: channels start after Bridge and Aureus OS are healthy.
    const channelsDeps = Object.keys(obj(composeService('channels'), 'depends_on'));
    assert.ok(channelsDeps.includes('signer') && channelsDeps.includes('policy'));
  });

  it('runs topics apply and schemas register once Kafka and the registry are healthy', () => {
    const init = composeService('init');
    const script = [...optArr(init, 'entrypoint'), ...optArr(init, 'command')].map(String).join(' ');
    assert.match(script, /node src\/cli\/main\.ts topics apply/);
    assert.match(script, /node src\/cli\/main\.ts schemas register/);
    assert.ok(script.indexOf('topics apply') < script.indexOf('schemas register'), 'topics before schemas');
    assert.equal(str(obj(obj(init, 'depends_on'), 'kafka'), 'condition'), 'service_healthy');
    assert.equal(str(obj(obj(init, 'depends_on'), 'registry'), 'condition'), 'service_healthy');
    assert.equal(init['restart'], 'no');
  });

  it('runs the infrastructure the brief names, at the versions the project tests with', () => {
    assert.match(str(composeService('kafka'), 'image'), /^apache\/kafka:4\.1\.\d+$/);
    assert.match(str(composeService('registry'), 'image'), /^apicurio\/apicurio-registry:3\.3\.\d+$/);
    assert.match(str(composeService('postgres'), 'image'), /^postgres:15(\.\d+)?(-alpine)?$/);
    assert.match(str(composeService('redis'), 'image'), /^redis:7(\.\d+)*(-alpine)?$/);
    assert.match(str(composeService('qdrant'), 'image'), /^qdrant\/qdrant:v1\.\d+\.\d+$/);
    const kafka = composeEnv(composeService('kafka'));
    assert.equal(kafka['KAFKA_PROCESS_ROLES'], 'broker,controller', 'KRaft, combined node');
    assert.equal(kafka['KAFKA_AUTO_CREATE_TOPICS_ENABLE'], 'false', 'topics only from topics.yaml');
    assert.match(kafka['KAFKA_ADVERTISED_LISTENERS'] ?? '', /PLAINTEXT:\/\/kafka:9092/);
    const registry = composeEnv(composeService('registry'));
    assert.equal(registry['APICURIO_STORAGE_KIND'], 'sql');
    assert.equal(registry['APICURIO_STORAGE_SQL_KIND'], 'postgresql');
  });

  it('creates the databases sentinel and sentinel_registry that the services and the registry use', () => {
    const dir = path.join(ROOT, 'infra/compose/postgres/initdb');
    const sql = readdirSync(dir).filter((f) => f.endsWith('.sql')).map((f) => readFileSync(path.join(dir, f), 'utf8')).join('\n');
    assert.match(sql, /CREATE DATABASE sentinel'/);
    assert.match(sql, /CREATE DATABASE sentinel_registry'/);
    const pg = composeService('postgres');
    assert.ok(optArr(pg, 'volumes').map(String).some((v) => v.startsWith('./infra/compose/postgres/initdb:/docker-entrypoint-initdb.d')));
    assert.equal(composeEnv(pg)['POSTGRES_DB'], 'sentinel');
    for (const name of Object.keys(COMPOSE_APPS)) assert.equal(composeEnv(composeService(name))['POSTGRES_DB'], 'sentinel');
    assert.match(composeEnv(composeService('registry'))['APICURIO_DATASOURCE_URL'] ?? '', /^jdbc:postgresql:\/\/postgres:5432\/sentinel_registry$/);
    // One user and one password for the services, the registry and the server itself.
    const user = composeEnv(pg)['POSTGRES_USER'];
    assert.equal(composeEnv(composeService('registry'))['APICURIO_DATASOURCE_USERNAME'], user);
    for (const name of Object.keys(COMPOSE_APPS)) assert.equal(composeEnv(composeService(name))['POSTGRES_USER'], user);
  });

  it('never holds a literal secret, in any service', () => {
    for (const [name, svc] of Object.entries(services)) {
      for (const [key, value] of Object.entries(composeEnv(svc as Obj))) {
        if (!/PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE/.test(key)) continue;
        const ref = soleRef(value);
        assert.ok(ref, `${name}: ${key} must be a \${VAR} reference`);
        assert.ok(VARIABLE_BY_NAME.get(ref.name)?.secret, `${name}: ${key} must come from a secret variable (got ${ref.name})`);
      }
    }
  });

  it('declares every named volume it mounts', () => {
    const declared = new Set(Object.keys(obj(compose, 'volumes')));
    for (const [name, svc] of Object.entries(services)) {
      for (const v of optArr(svc, 'volumes').map(String)) {
        const source = v.split(':')[0] ?? '';
        if (source.startsWith('.') || source.startsWith('/')) continue;
        assert.ok(declared.has(source), `${name} mounts undeclared volume ${source}`);
      }
    }
    for (const v of ['kafka-data', 'postgres-data', 'redis-data', 'qdrant-data']) assert.ok(declared.has(v), v);
  });

  it('reads from .env only variables that .env.example lists', () => {
    const refs = allStrings(compose as Json).flatMap(varRefs).map((r) => r.name);
    assert.ok(refs.length > 10);
    for (const name of new Set(refs)) assert.ok(envExample.names.includes(name), `\${${name}} is not in .env.example`);
  });
});

// ================================================================= .env.example

describe('.env.example', () => {
  it('lists every variable of VARIABLES exactly once, shows defaults, holds no secret', () => {
    assert.deepEqual(checkEnvExample(readText('.env.example')), []);
  });

  it('gives the required compose secrets a placeholder so `docker compose config` interpolates', () => {
    for (const name of ['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'API_KEY']) assert.equal(envExample.values[name], 'change-me');
  });

  it('the check catches a missing, a repeated, an unknown variable and a real secret', () => {
    const text = readText('.env.example');
    assert.deepEqual(checkEnvExample(text.replace(/^QDRANT_URL=.*$/m, '')), ['QDRANT_URL appears 0 times']);
    assert.deepEqual(checkEnvExample(`${text}\nLOG_LEVEL=info\n`), ['LOG_LEVEL appears 2 times']);
    assert.deepEqual(checkEnvExample(`${text}\nDEBUG=1\n`), ['DEBUG is not a VARIABLES entry']);
    assert.deepEqual(checkEnvExample(text.replace(/^API_KEY=.*$/m, 'API_KEY=s3cr3t')), ['API_KEY is a secret: leave it empty or change-me']);
    assert.deepEqual(checkEnvExample(text.replace(/^LOG_LEVEL=.*$/m, 'LOG_LEVEL=debug')), ['LOG_LEVEL=debug differs from the default info']);
  });
});

// ================================================================= Kubernetes

const deployments = APP_SERVICES.map((s) => find(manifests, 'Deployment', s));

describe('k8s/ and src/config VARIABLES', () => {
  it('kustomization.yaml applies every manifest of k8s/ but the Secret template and the init Job', () => {
    const listed = arr(loadKustomization(), 'resources').map(String).sort();
    const files = k8sYamlFiles().filter((f) => !['kustomization.yaml', 'secrets.example.yaml', 'init-job.yaml'].includes(f));
    assert.deepEqual(listed, files);
    assert.equal(str(loadKustomization(), 'namespace'), 'aureus');
    for (const m of manifests) {
      if (m.kind === 'Namespace') continue;
      assert.equal(m.namespace, 'aureus', `${m.kind}/${m.name} namespace`);
    }
    assert.ok(!manifests.some((m) => m.kind === 'Secret'), 'no Secret is applied from the repository');
  });

  it('creates the namespace aureus with the restricted Pod Security level', () => {
    const ns = find(manifests, 'Namespace', 'aureus');
    assert.equal(obj(obj(ns.doc, 'metadata'), 'labels')['pod-security.kubernetes.io/enforce'], 'restricted');
  });

  it('keeps only non-secret variables of VARIABLES in ConfigMaps', () => {
    for (const cm of manifests.filter((m) => m.kind === 'ConfigMap')) {
      for (const key of Object.keys(optObj(cm.doc, 'data') ?? {})) {
        const spec = VARIABLE_BY_NAME.get(key);
        assert.ok(spec, `ConfigMap ${cm.name}: ${key} is not declared in VARIABLES`);
        assert.equal(spec.secret, false, `ConfigMap ${cm.name}: ${key} is a secret`);
      }
    }
  });

  for (const d of deployments) {
    const service = d.name as ServiceName;
    describe(`Deployment ${service}`, () => {
      const container = mainContainer(d);

      it('gets only variables it reads, cluster addresses, secrets by key, PORT = containerPort = config default', () => {
        assert.deepEqual(checkDeployment(d, manifests), []);
      });

      it('is scraped by Prometheus on its http port', () => {
        const annotations = obj(obj(obj(d.doc, 'spec'), 'template'), 'metadata')['annotations'];
        assert.equal(optStr(annotations, 'prometheus.io/port'), String(portOf(service)));
        assert.equal(optStr(annotations, 'prometheus.io/path'), '/metrics');
        assert.equal(optStr(annotations, 'prometheus.io/scrape'), 'true');
      });

      it('has the seed probes: liveness /health (30 s, every 10 s), readiness /ready (10 s, every 5 s)', () => {
        const live = obj(container, 'livenessProbe');
        const ready = obj(container, 'readinessProbe');
        assert.equal(str(obj(live, 'httpGet'), 'path'), '/health');
        assert.equal(obj(live, 'httpGet')['port'], 'http');
        assert.equal(num(live, 'initialDelaySeconds'), 30);
        assert.equal(num(live, 'periodSeconds'), 10);
        assert.equal(str(obj(ready, 'httpGet'), 'path'), '/ready');
        assert.equal(obj(ready, 'httpGet')['port'], 'http');
        assert.equal(num(ready, 'initialDelaySeconds'), 10);
        assert.equal(num(ready, 'periodSeconds'), 5);
      });

      it('has its resources (the seed for channels, signer and policy)', () => {
        assert.deepEqual(obj(container, 'resources'), RESOURCES[service]);
      });

      it('runs as non-root with a read-only root filesystem and no capabilities', () => {
        const pod = obj(podSpec(d), 'securityContext');
        assert.equal(pod['runAsNonRoot'], true);
        assert.ok(num(pod, 'runAsUser') > 0);
        assert.equal(str(obj(pod, 'seccompProfile'), 'type'), 'RuntimeDefault');
        const sc = obj(container, 'securityContext');
        assert.equal(sc['runAsNonRoot'], true);
        assert.equal(sc['readOnlyRootFilesystem'], true);
        assert.equal(sc['allowPrivilegeEscalation'], false);
        assert.deepEqual(obj(sc, 'capabilities')['drop'], ['ALL']);
        const mounts = optArr(container, 'volumeMounts').map((m) => str(m, 'mountPath'));
        assert.ok(mounts.includes('/tmp'), 'a writable /tmp');
        assert.equal(podSpec(d)['automountServiceAccountToken'], false);
        find(manifests, 'ServiceAccount', str(podSpec(d), 'serviceAccountName'));
      });

      it('runs the one image with the service selected by the entrypoint', () => {
        assert.deepEqual(container['args'], [service]);
        const image = str(container, 'image');
        const images = optArr(loadKustomization(), 'images').map((i) => str(i, 'name'));
        assert.ok(images.includes(image.split(':')[0] ?? ''), `kustomization images must cover ${image}`);
      });

      it('has a PodDisruptionBudget that selects its pods', () => {
        const pdbs = manifests.filter((m) => m.kind === 'PodDisruptionBudget' && selectorMatches(optObj(optObj(m.doc, 'spec'), 'selector'), podLabels(d)));
        assert.equal(pdbs.length, 1);
        const spec = obj(pdbs[0]?.doc, 'spec');
        assert.ok(spec['maxUnavailable'] === 1 || spec['minAvailable'] === 2, 'maxUnavailable 1 or minAvailable 2');
        assert.ok(selectorMatches(obj(obj(d.doc, 'spec'), 'selector'), podLabels(d)), 'the Deployment selects its own pods');
      });
    });
  }

  describe('the Deployment checks catch a broken Deployment', () => {
    const broken = (service: string, f: (container: Obj) => void): string[] => {
      const d = find(manifests, 'Deployment', service);
      const copy = { ...d, doc: clone(d.doc) };
      f(mainContainer(copy));
      return checkDeployment(copy, manifests);
    };
    const env = (c: Obj): Json[] => arr(c, 'env');
    it('a secret given as a value', () => {
      assert.deepEqual(broken('signer', (c) => {
        const e = env(c).find((x) => str(x, 'name') === 'API_KEY');
        if (!isObj(e)) throw new Error('no API_KEY');
        delete e['valueFrom'];
        e['value'] = 'k-123';
      }), ['signer: secret API_KEY must come from a secretKeyRef, not a value', 'signer: API_KEY must be a required secretKeyRef']);
    });
    it('a variable the service does not read, or that is not declared', () => {
      assert.deepEqual(broken('executor', (c) => { env(c).push({ name: 'QDRANT_URL', value: 'http://qdrant:6333' }); }), ['executor: QDRANT_URL is not read by executor']);
      assert.deepEqual(broken('policy', (c) => { env(c).push({ name: 'WORKERS', value: '4' }); }), ['policy: WORKERS is not declared in src/config VARIABLES']);
    });
    it('a port that differs from the config default', () => {
      assert.deepEqual(broken('signer', (c) => {
        const p = arr(c, 'ports')[0];
        if (!isObj(p)) throw new Error('no port');
        p['containerPort'] = 3001;
      }), ['signer: container port http must be 3000 (got 3001)']);
    });
    it('a loopback default left in place', () => {
      assert.deepEqual(broken('channels', (c) => { env(c).push({ name: 'BRIDGE_URL', value: 'http://127.0.0.1:3000' }); }), ['channels: BRIDGE_URL=http://127.0.0.1:3000 must be a cluster address']);
    });
  });

  it('has an init Job that runs topics apply then schemas register with the shared configuration', () => {
    const [job, ...rest] = loadManifestFile('k8s/init-job.yaml');
    assert.ok(job && rest.length === 0);
    assert.equal(job.kind, 'Job');
    assert.equal(job.namespace, 'aureus');
    const pod = obj(obj(obj(job.doc, 'spec'), 'template'), 'spec');
    const container = arr(pod, 'containers')[0];
    const script = [...optArr(container, 'command'), ...optArr(container, 'args')].map(String).join(' ');
    assert.match(script, /node src\/cli\/main\.ts topics apply && node src\/cli\/main\.ts schemas register/);
    const env = containerEnv(container as Obj, manifests);
    for (const key of ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'TOPIC_PREFIX']) {
      const src = env.get(key);
      assert.ok(src && src.from === 'configMap' && src.configMap === 'aureus-common', key);
    }
    for (const key of env.keys()) assert.ok(VARIABLE_BY_NAME.get(key)?.services.includes('cli'), `${key} is not read by the cli`);
    // The restricted Pod Security level of the namespace applies to it too.
    assert.equal(obj(pod, 'securityContext')['runAsNonRoot'], true);
    const sc = obj(container, 'securityContext');
    assert.equal(sc['readOnlyRootFilesystem'], true);
    assert.equal(sc['allowPrivilegeEscalation'], false);
    assert.deepEqual(obj(sc, 'capabilities')['drop'], ['ALL']);
    assert.equal(str(container, 'image'), str(mainContainer(deployments[0]!), 'image'), 'the same image as the services');
  });

  it('documents in secrets.example.yaml exactly the keys the Deployments read, all empty', () => {
    const referenced = new Set<string>();
    for (const d of deployments) {
      for (const src of containerEnv(mainContainer(d), manifests).values()) if (src.from === 'secret') referenced.add(src.key);
    }
    const template = loadManifestFile('k8s/secrets.example.yaml');
    assert.equal(template.length, 1);
    const secret = template[0]!;
    assert.equal(secret.kind, 'Secret');
    assert.equal(secret.name, 'aureus-secrets');
    const data = obj(secret.doc, 'stringData');
    assert.deepEqual(Object.keys(data).sort(), [...referenced].sort());
    for (const [k, v] of Object.entries(data)) {
      assert.equal(v, '', `${k} must be empty in the template`);
      assert.ok(VARIABLE_BY_NAME.get(k)?.secret, `${k} must be a secret variable`);
    }
  });

  it('exposes channels, signer and policy under the seed Service names, on their named ports', () => {
    for (const [svcName, service] of Object.entries(SEED_SERVICES)) {
      const svc = find(manifests, 'Service', svcName);
      const d = find(manifests, 'Deployment', service);
      assert.ok(selectorMatches({ matchLabels: obj(obj(svc.doc, 'spec'), 'selector') }, podLabels(d)), `${svcName} selects ${service}`);
      const ports = containerPorts(mainContainer(d));
      for (const p of arr(obj(svc.doc, 'spec'), 'ports')) {
        const target = ports.get(str(p, 'targetPort'));
        assert.equal(target, num(p, 'port'), `${svcName} port ${num(p, 'port')}`);
      }
      assert.ok(arr(obj(svc.doc, 'spec'), 'ports').some((p) => num(p, 'port') === portOf(service as ServiceName)));
    }
  });

  it('points BRIDGE_URL and AUREUS_OS_URL at those Services', () => {
    const want: Record<string, [string, number]> = {
      BRIDGE_URL: ['bridge-service.aureus.svc.cluster.local', portOf('signer')],
      AUREUS_OS_URL: ['aureus-os-service.aureus.svc.cluster.local', portOf('policy')],
    };
    let checked = 0;
    for (const d of deployments) {
      for (const [key, src] of containerEnv(mainContainer(d), manifests)) {
        const w = want[key];
        if (!w || (src.from !== 'configMap' && src.from !== 'value')) continue;
        assert.deepEqual(Object.values(urlHostPort(src.value)), w, `${d.name}: ${key}`);
        checked++;
      }
    }
    assert.equal(checked, 5, 'channels x2, policy, signer, executor');
  });

  it('routes the seed paths of aureus.example.com to the Services', () => {
    const ingress = find(manifests, 'Ingress', 'aureus');
    const rules = arr(obj(ingress.doc, 'spec'), 'rules');
    assert.equal(rules.length, 1);
    assert.equal(str(rules[0], 'host'), 'aureus.example.com');
    const routes = arr(obj(rules[0], 'http'), 'paths').map((p) => [str(p, 'path'), str(obj(obj(p, 'backend'), 'service'), 'name')]);
    const byPrefix = (prefix: string) => routes.find(([p]) => p?.startsWith(prefix))?.[1];
    assert.equal(byPrefix('/api/channels'), 'openclaw-service');
    assert.equal(byPrefix('/api/bridge'), 'bridge-service');
    assert.equal(byPrefix('/api/policy'), 'aureus-os-service');
  });
});

describe('k8s/ scaling', () => {
  const kafkaBrokers = str(obj(find(manifests, 'ConfigMap', 'aureus-common').doc, 'data'), 'KAFKA_BROKERS');

  function scaledObject(service: string): Obj {
    return find(manifests, 'ScaledObject', service).doc;
  }

  function behaviour(spec: Obj | undefined): { up: number; down: number } {
    return {
      up: num(obj(spec, 'scaleUp'), 'stabilizationWindowSeconds'),
      down: num(obj(spec, 'scaleDown'), 'stabilizationWindowSeconds'),
    };
  }

  it('scales channels with the seed HPA', () => {
    const hpa = obj(find(manifests, 'HorizontalPodAutoscaler', 'channels').doc, 'spec');
    assert.equal(str(obj(hpa, 'scaleTargetRef'), 'name'), 'channels');
    assert.equal(num(hpa, 'minReplicas'), SEED_HPA.min);
    assert.equal(num(hpa, 'maxReplicas'), SEED_HPA.max);
    const target = (name: string) => {
      const m = arr(hpa, 'metrics').find((x) => optStr(optObj(x, 'resource'), 'name') === name);
      const t = obj(obj(m, 'resource'), 'target');
      assert.equal(str(t, 'type'), 'Utilization');
      return num(t, 'averageUtilization');
    };
    assert.equal(target('cpu'), SEED_HPA.cpu);
    assert.equal(target('memory'), SEED_HPA.memory);
    assert.deepEqual(behaviour(obj(hpa, 'behavior')), { up: SEED_HPA.up, down: SEED_HPA.down });
  });

  it('never targets one Deployment with two autoscalers', () => {
    const targets = manifests
      .filter((m) => m.kind === 'HorizontalPodAutoscaler' || m.kind === 'ScaledObject')
      .map((m) => str(obj(obj(m.doc, 'spec'), 'scaleTargetRef'), 'name'));
    assert.deepEqual([...targets].sort(), [...new Set(targets)].sort());
    assert.deepEqual([...targets].sort(), [...APP_SERVICES].sort());
    // The autoscaler owns the replica count: a fixed spec.replicas would reset it on every apply.
    for (const d of deployments) assert.equal(obj(d.doc, 'spec')['replicas'], undefined, `${d.name} spec.replicas`);
  });

  for (const service of ['policy', 'signer', 'executor']) {
    it(`scales ${service} on the consumer lag of ${GROUPS[service]} over the topics it consumes`, () => {
      const spec = obj(scaledObject(service), 'spec');
      assert.equal(str(obj(spec, 'scaleTargetRef'), 'name'), service);
      const kafka = arr(spec, 'triggers').filter((t) => str(t, 'type') === 'kafka');
      const work = [...(WORK_TOPICS[service] ?? [])].sort();
      assert.deepEqual(kafka.map((t) => str(obj(t, 'metadata'), 'topic')).sort(), work);
      // topics.yaml agrees: the group consumes each work topic; any other topic of the group is
      // compacted state (e.g. the signing keys), not work whose lag should add replicas.
      for (const t of topics.filter((x) => x.consumers.includes(GROUPS[service] ?? ''))) {
        assert.ok(work.includes(t.name) || t.cleanupPolicy === 'compact', `${t.name} (group ${GROUPS[service]}) is neither a scaling trigger nor compacted`);
      }
      for (const name of work) {
        assert.ok(topics.find((t) => t.name === name)?.consumers.includes(GROUPS[service] ?? ''), `topics.yaml: ${name} is not consumed by ${GROUPS[service]}`);
      }
      const consumed = work;
      for (const t of kafka) {
        const md = obj(t, 'metadata');
        assert.equal(str(md, 'consumerGroup'), GROUPS[service]);
        assert.equal(str(md, 'bootstrapServers'), kafkaBrokers, 'the ConfigMap KAFKA_BROKERS');
        assert.match(str(md, 'lagThreshold'), /^[1-9]\d*$/);
        assert.equal(str(md, 'allowIdleConsumers'), 'false', 'lag never asks for more consumers than partitions');
      }
      const minPartitions = Math.min(...topics.filter((t) => consumed.includes(t.name)).map((t) => t.partitions));
      assert.equal(num(spec, 'minReplicaCount'), SEED_HPA.min);
      const max = num(spec, 'maxReplicaCount');
      const resourceTriggers = arr(spec, 'triggers').filter((t) => ['cpu', 'memory'].includes(str(t, 'type')));
      if (resourceTriggers.length === 0) {
        // A pure consumer: replicas past the partition count would sit idle.
        assert.ok(max <= minPartitions, `maxReplicaCount ${max} > ${minPartitions} partitions`);
      } else {
        // Also an HTTP API: the seed's CPU/memory scaling up to 10; lag alone stops at the partitions.
        assert.equal(max, SEED_HPA.max);
        const value = (type: string) => {
          const t = resourceTriggers.find((x) => str(x, 'type') === type);
          assert.equal(str(t, 'metricType'), 'Utilization');
          return Number(str(obj(t, 'metadata'), 'value'));
        };
        assert.equal(value('cpu'), SEED_HPA.cpu);
        assert.equal(value('memory'), SEED_HPA.memory);
      }
      const hpaConfig = obj(obj(spec, 'advanced'), 'horizontalPodAutoscalerConfig');
      assert.deepEqual(behaviour(obj(hpaConfig, 'behavior')), { up: SEED_HPA.up, down: SEED_HPA.down });
    });
  }

  it('keeps the seed CPU/memory scaling for the consumers that also serve HTTP (policy, signer)', () => {
    for (const service of ['policy', 'signer']) {
      const types = arr(obj(scaledObject(service), 'spec'), 'triggers').map((t) => str(t, 'type'));
      assert.ok(types.includes('cpu') && types.includes('memory'), service);
    }
  });
});
