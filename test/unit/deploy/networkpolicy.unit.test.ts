// The NetworkPolicies of k8s/networkpolicies.yaml, evaluated flow by flow with the semantics of
// the NetworkPolicy API (policies are additive allow-lists; a pod selected by no policy of a
// direction is open in that direction; a flow needs the source's egress and the destination's
// ingress): exactly the flows the system needs are open, everything else is closed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { VARIABLES, type ServiceName } from '../../../src/config/index.ts';
import {
  APP_SERVICES, containerPorts, find, loadK8sManifests, mainContainer, optArr, optObj, optStr,
  podLabels, selectorMatches, str, type Json, type Manifest, type Obj,
} from './support.ts';

type Labels = Readonly<Record<string, string>>;
interface Pod { kind: 'pod'; what: string; namespace: string; nsLabels: Labels; labels: Labels; ports: ReadonlyMap<string, number> }
interface External { kind: 'external'; what: string }
type Endpoint = Pod | External;
type Protocol = 'TCP' | 'UDP';

const NS = 'aureus';
const manifests = loadK8sManifests();
const policies = manifests.filter((m) => m.kind === 'NetworkPolicy');

function nsPod(what: string, namespace: string, labels: Labels, ports: Record<string, number> = {}): Pod {
  return { kind: 'pod', what, namespace, nsLabels: { 'kubernetes.io/metadata.name': namespace }, labels, ports: new Map(Object.entries(ports)) };
}

function appPod(service: string): Pod {
  const d = find(manifests, 'Deployment', service);
  return { kind: 'pod', what: service, namespace: NS, nsLabels: { 'kubernetes.io/metadata.name': NS }, labels: podLabels(d), ports: containerPorts(mainContainer(d)) };
}

const pods: Record<string, Pod> = Object.fromEntries(APP_SERVICES.map((s) => [s, appPod(s)]));
function app(s: string): Pod {
  const p = pods[s];
  if (!p) throw new Error(`no pod ${s}`);
  return p;
}
const ingressController = nsPod('ingress controller', 'ingress-nginx', { 'app.kubernetes.io/name': 'ingress-nginx' });
const prometheus = nsPod('prometheus', 'monitoring', { 'app.kubernetes.io/name': 'prometheus' });
const otherMonitoringPod = nsPod('grafana', 'monitoring', { 'app.kubernetes.io/name': 'grafana' });
const kubeDns = nsPod('kube-dns', 'kube-system', { 'k8s-app': 'kube-dns' }, { dns: 53, 'dns-tcp': 53 });
const strangerPod = nsPod('a pod of another namespace', 'default', { app: 'web' });
const unlabelledPod = nsPod('an unlabelled pod in aureus', NS, { run: 'debug' });
const outside: External = { kind: 'external', what: 'outside the cluster' };

function policyTypes(p: Manifest): string[] {
  const spec = optObj(p.doc, 'spec');
  const declared = optArr(spec, 'policyTypes').map(String);
  if (declared.length > 0) return declared;
  return spec && Object.hasOwn(spec, 'egress') ? ['Ingress', 'Egress'] : ['Ingress'];
}

function selects(p: Manifest, pod: Pod): boolean {
  return (p.namespace ?? NS) === pod.namespace && selectorMatches(optObj(optObj(p.doc, 'spec'), 'podSelector'), pod.labels);
}

function peerMatches(peer: Json, policyNs: string, other: Endpoint): boolean {
  const podSel = optObj(peer, 'podSelector');
  const nsSel = optObj(peer, 'namespaceSelector');
  const ipBlock = optObj(peer, 'ipBlock');
  if (other.kind === 'external') return ipBlock !== undefined && optStr(ipBlock, 'cidr') === '0.0.0.0/0';
  if (ipBlock) return false;
  const nsOk = nsSel ? selectorMatches(nsSel, other.nsLabels) : other.namespace === policyNs;
  const podOk = podSel ? selectorMatches(podSel, other.labels) : true;
  return nsOk && podOk;
}

function portMatches(rulePorts: Json[], port: number, protocol: Protocol, target: Endpoint): boolean {
  if (rulePorts.length === 0) return true;
  return rulePorts.some((rp) => {
    if ((optStr(rp, 'protocol') ?? 'TCP') !== protocol) return false;
    const p = (rp as Obj)['port'];
    if (p === undefined || p === null) return true;
    if (typeof p === 'number') return p === port;
    // A named port resolves against the ports of the pod the traffic goes to.
    return target.kind === 'pod' && target.ports.get(String(p)) === port;
  });
}

function allowedBy(direction: 'Ingress' | 'Egress', self: Pod, other: Endpoint, port: number, protocol: Protocol, target: Endpoint, set: readonly Manifest[]): boolean {
  const applicable = set.filter((p) => selects(p, self) && policyTypes(p).includes(direction));
  if (applicable.length === 0) return true;
  const rulesKey = direction === 'Ingress' ? 'ingress' : 'egress';
  const peersKey = direction === 'Ingress' ? 'from' : 'to';
  return applicable.some((p) => optArr(optObj(p.doc, 'spec'), rulesKey).some((rule) => {
    const peers = optArr(rule, peersKey);
    const peerOk = peers.length === 0 || peers.some((peer) => peerMatches(peer, p.namespace ?? NS, other));
    return peerOk && portMatches(optArr(rule, 'ports'), port, protocol, target);
  }));
}

/** Whether traffic from `src` to `dst` on port/protocol is allowed by the policies of namespace aureus. */
function allowed(src: Endpoint, dst: Endpoint, port: number, protocol: Protocol = 'TCP', set: readonly Manifest[] = policies): boolean {
  const egress = src.kind === 'pod' && src.namespace === NS ? allowedBy('Egress', src, dst, port, protocol, dst, set) : true;
  const ingress = dst.kind === 'pod' && dst.namespace === NS ? allowedBy('Ingress', dst, src, port, protocol, dst, set) : true;
  return egress && ingress;
}

function httpPort(s: string): number {
  const p = app(s).ports.get('http');
  if (p === undefined) throw new Error(`${s} has no http port`);
  return p;
}

const URL_TARGET: Readonly<Record<string, ServiceName>> = { BRIDGE_URL: 'signer', AUREUS_OS_URL: 'policy' };

/** The in-namespace calls the configuration implies: a service that reads BRIDGE_URL calls the signer, etc. */
function impliedCalls(): Set<string> {
  const calls = new Set<string>();
  for (const v of VARIABLES) {
    const target = URL_TARGET[v.name];
    if (target === undefined) continue;
    for (const s of v.services) if ((APP_SERVICES as readonly string[]).includes(s) && s !== target) calls.add(`${s}->${target}`);
  }
  return calls;
}

describe('NetworkPolicies (k8s/networkpolicies.yaml)', () => {
  it('start from a default deny of both directions for every pod of the namespace', () => {
    const deny = find(manifests, 'NetworkPolicy', 'default-deny-all');
    assert.deepEqual(optObj(deny.doc, 'spec')?.['podSelector'], {});
    assert.deepEqual(policyTypes(deny).sort(), ['Egress', 'Ingress']);
    assert.equal(optArr(optObj(deny.doc, 'spec'), 'ingress').length, 0);
    assert.equal(optArr(optObj(deny.doc, 'spec'), 'egress').length, 0);
    assert.equal(allowed(unlabelledPod, app('signer'), 3000), false);
    assert.equal(allowed(unlabelledPod, outside, 443), false);
  });

  it('let every service resolve names through kube-dns and nothing else on port 53', () => {
    for (const s of APP_SERVICES) {
      assert.ok(allowed(app(s), kubeDns, 53, 'UDP'), `${s} -> DNS/UDP`);
      assert.ok(allowed(app(s), kubeDns, 53, 'TCP'), `${s} -> DNS/TCP`);
      assert.equal(allowed(app(s), outside, 53, 'UDP'), false, `${s} -> outside:53`);
    }
  });

  it('let every service reach Kafka, the schema registry, PostgreSQL and Redis', () => {
    for (const s of APP_SERVICES) {
      for (const port of [9092, 8080, 5432, 6379]) assert.ok(allowed(app(s), outside, port), `${s} -> ${port}`);
      assert.equal(allowed(app(s), outside, 22), false, `${s} -> 22`);
    }
  });

  it('let only policy reach Qdrant, and only channels (bots) and the signer (KMS) reach HTTPS', () => {
    const reads = (name: string, s: string) => VARIABLES.find((v) => v.name === name)?.services.includes(s as ServiceName) ?? false;
    for (const s of APP_SERVICES) {
      assert.equal(allowed(app(s), outside, 6333), reads('QDRANT_URL', s), `${s} -> qdrant`);
      assert.equal(allowed(app(s), outside, 443), s === 'channels' || s === 'signer', `${s} -> 443`);
    }
  });

  it('open exactly the service-to-service calls that BRIDGE_URL and AUREUS_OS_URL imply', () => {
    const expected = impliedCalls();
    assert.deepEqual([...expected].sort(), ['channels->policy', 'channels->signer', 'executor->signer', 'policy->signer', 'signer->policy']);
    for (const src of APP_SERVICES) {
      for (const dst of APP_SERVICES) {
        if (src === dst) continue;
        for (const port of app(dst).ports.values()) {
          const want = expected.has(`${src}->${dst}`) && port === httpPort(dst);
          assert.equal(allowed(app(src), app(dst), port), want, `${src} -> ${dst}:${port}`);
        }
      }
    }
  });

  it('let the ingress controller reach the services the Ingress routes to, on their ports only', () => {
    const routed = new Set<string>();
    for (const ing of manifests.filter((m) => m.kind === 'Ingress')) {
      for (const rule of optArr(optObj(ing.doc, 'spec'), 'rules')) {
        for (const p of optArr(optObj(rule, 'http'), 'paths')) {
          const svcName = str(optObj(optObj(p, 'backend'), 'service'), 'name');
          const portName = str(optObj(optObj(optObj(p, 'backend'), 'service'), 'port'), 'name');
          const svc = find(manifests, 'Service', svcName);
          const selector = optObj(optObj(svc.doc, 'spec'), 'selector') ?? {};
          const target = APP_SERVICES.find((s) => Object.entries(selector).every(([k, v]) => app(s).labels[k] === String(v)));
          if (!target) throw new Error(`Service ${svcName} selects no app pod`);
          const port = app(target).ports.get(portName);
          if (port === undefined) throw new Error(`${target} has no port ${portName}`);
          routed.add(`${target}:${port}`);
        }
      }
    }
    assert.deepEqual([...routed].sort(), ['channels:8080', 'channels:8081', 'policy:5000', 'signer:3000']);
    for (const s of APP_SERVICES) {
      for (const port of app(s).ports.values()) {
        assert.equal(allowed(ingressController, app(s), port), routed.has(`${s}:${port}`), `ingress -> ${s}:${port}`);
      }
    }
  });

  it('let Prometheus (and only Prometheus) scrape each pod on its http port', () => {
    for (const s of APP_SERVICES) {
      assert.ok(allowed(prometheus, app(s), httpPort(s)), `prometheus -> ${s}`);
      assert.equal(allowed(otherMonitoringPod, app(s), httpPort(s)), false, `grafana -> ${s}`);
    }
    assert.equal(allowed(prometheus, app('channels'), 8081), false, 'prometheus -> channels websocket');
  });

  it('keep pods of other namespaces out', () => {
    for (const s of APP_SERVICES) {
      for (const port of app(s).ports.values()) assert.equal(allowed(strangerPod, app(s), port), false, `stranger -> ${s}:${port}`);
    }
  });

  describe('the evaluator is not vacuous', () => {
    it('without the default deny an unselected pod is open', () => {
      const withoutDeny = policies.filter((p) => p.name !== 'default-deny-all' && p.name !== 'allow-dns');
      assert.equal(allowed(unlabelledPod, outside, 443, 'TCP', withoutDeny), true);
      assert.equal(allowed(unlabelledPod, outside, 443), false);
    });

    it('without allow-dns the services cannot resolve names', () => {
      const withoutDns = policies.filter((p) => p.name !== 'allow-dns');
      assert.equal(allowed(app('policy'), kubeDns, 53, 'UDP', withoutDns), false);
    });

    it('a widened ingress rule is noticed', () => {
      const widened = policies.map((p) => {
        if (p.name !== 'signer') return p;
        const doc = structuredClone(p.doc);
        const spec = optObj(doc, 'spec');
        if (spec) spec['ingress'] = [{ ports: [{ protocol: 'TCP', port: 3000 }] }];
        return { ...p, doc };
      });
      assert.equal(allowed(app('executor'), app('signer'), 3000, 'TCP', widened), true);
      assert.equal(allowed(strangerPod, app('signer'), 3000, 'TCP', widened), true);
      assert.equal(allowed(strangerPod, app('signer'), 3000), false);
    });
  });
});
