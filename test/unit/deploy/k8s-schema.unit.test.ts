// Every Kubernetes manifest of k8s/ against the Kubernetes API schemas, offline:
//  1. the ajv validators that kubernetes-models generated from the Kubernetes OpenAPI spec
//     (and @kubernetes-models/keda from the KEDA CRDs' openAPIV3Schema): types, required
//     fields, enums, formats such as quantity and int-or-string;
//  2. a strict pass that rejects fields the API does not define (the API server drops them
//     silently, so a misspelt probe or securityContext would otherwise go unnoticed).
// Each pass is shown to reject deliberately broken manifests.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  arr, clone, find, isObj, k8sYamlFiles, loadK8sManifests, loadManifestFile, mainContainer,
  obj, podSpec, strictCheckK8s, validateK8s, type Manifest, type Obj,
} from './support.ts';

const manifests = loadK8sManifests();
// Files of k8s/ applied by hand, outside kustomization.yaml: the Secret template and the init Job.
const template = [...loadManifestFile('k8s/secrets.example.yaml'), ...loadManifestFile('k8s/init-job.yaml')];

function broken(m: Manifest, f: (doc: Obj) => void): Manifest {
  const doc = clone(m.doc);
  f(doc);
  return { ...m, doc };
}

describe('k8s/ manifests against the Kubernetes schemas', () => {
  it('holds the expected kinds', () => {
    const kinds = new Set(manifests.map((m) => `${m.apiVersion} ${m.kind}`));
    for (const k of [
      'v1 Namespace', 'v1 ConfigMap', 'v1 ServiceAccount', 'v1 Service', 'apps/v1 Deployment',
      'policy/v1 PodDisruptionBudget', 'autoscaling/v2 HorizontalPodAutoscaler',
      'keda.sh/v1alpha1 ScaledObject', 'networking.k8s.io/v1 NetworkPolicy', 'networking.k8s.io/v1 Ingress',
    ]) assert.ok(kinds.has(k), `missing ${k}`);
    assert.ok(manifests.length >= 25, `only ${manifests.length} manifests`);
  });

  it('validates every manifest (and the Secret template and init Job) with the generated validators', async () => {
    const failures: string[] = [];
    for (const m of [...manifests, ...template]) {
      for (const e of await validateK8s(m.doc)) failures.push(`${m.file}#${m.index} ${m.kind}/${m.name}: ${e}`);
    }
    assert.deepEqual(failures, []);
  });

  it('passes the strict check: no field the API does not define, every required field present', () => {
    assert.deepEqual(strictCheckK8s([...manifests, ...template]), []);
  });

  it('has a schema for every document of every YAML file in k8s/ but kustomization.yaml', async () => {
    for (const file of k8sYamlFiles().filter((f) => f !== 'kustomization.yaml')) {
      for (const m of loadManifestFile(`k8s/${file}`)) {
        assert.deepEqual(await validateK8s(m.doc), [], `${file}#${m.index}`);
      }
    }
  });

  describe('the generated validators reject a broken manifest', () => {
    const deployment = find(manifests, 'Deployment', 'policy');

    it('a container port given as a name instead of a number', async () => {
      const bad = broken(deployment, (doc) => {
        const c = arr(obj(obj(obj(doc, 'spec'), 'template'), 'spec'), 'containers')[0];
        if (!isObj(c)) throw new Error('no container');
        const port = arr(c, 'ports')[0];
        if (!isObj(port)) throw new Error('no port');
        port['containerPort'] = 'http';
      });
      const errors = await validateK8s(bad.doc);
      assert.ok(errors.some((e) => e.includes('/ports/0/containerPort must be integer')), errors.join('\n'));
    });

    it('a container without its required name', async () => {
      const bad = broken(deployment, (doc) => {
        const c = arr(obj(obj(obj(doc, 'spec'), 'template'), 'spec'), 'containers')[0];
        if (!isObj(c)) throw new Error('no container');
        delete c['name'];
      });
      const errors = await validateK8s(bad.doc);
      assert.ok(errors.some((e) => e.includes('containers/0 must have required property name')), errors.join('\n'));
    });

    it('a memory request that is not a quantity', async () => {
      const bad = broken(deployment, (doc) => {
        const c = arr(obj(obj(obj(doc, 'spec'), 'template'), 'spec'), 'containers')[0];
        obj(obj(c, 'resources'), 'requests')['memory'] = 'one gigabyte';
      });
      const errors = await validateK8s(bad.doc);
      assert.ok(errors.some((e) => e.includes('resources/requests/memory')), errors.join('\n'));
    });

    it('an HPA utilisation given as a percentage string', async () => {
      const bad = broken(find(manifests, 'HorizontalPodAutoscaler', 'channels'), (doc) => {
        const metric = arr(obj(doc, 'spec'), 'metrics')[0];
        obj(obj(metric, 'resource'), 'target')['averageUtilization'] = '70%';
      });
      const errors = await validateK8s(bad.doc);
      assert.ok(errors.some((e) => e.includes('averageUtilization must be integer')), errors.join('\n'));
    });

    it('a KEDA trigger metadata value that is not a string (CRD schema)', async () => {
      const bad = broken(find(manifests, 'ScaledObject', 'executor'), (doc) => {
        const trigger = arr(obj(doc, 'spec'), 'triggers')[0];
        obj(trigger, 'metadata')['lagThreshold'] = 50;
      });
      const errors = await validateK8s(bad.doc);
      assert.ok(errors.some((e) => e.includes('metadata/lagThreshold must be string')), errors.join('\n'));
    });

    it('a ScaledObject without scaleTargetRef (required by the CRD)', async () => {
      const bad = broken(find(manifests, 'ScaledObject', 'policy'), (doc) => {
        delete obj(doc, 'spec')['scaleTargetRef'];
      });
      const errors = await validateK8s(bad.doc);
      assert.ok(errors.some((e) => e.includes('data/spec must have required property scaleTargetRef')), errors.join('\n'));
    });

    it('an apiVersion/kind that has no schema', async () => {
      const errors = await validateK8s({ apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x' } });
      assert.deepEqual(errors, ['no schema for apiVersion "apps/v1" kind "Deploymnet"']);
    });
  });

  describe('the strict check rejects what the generated validators let through', () => {
    it('a misspelt probe', async () => {
      const bad = broken(find(manifests, 'Deployment', 'signer'), (doc) => {
        const c = arr(obj(obj(obj(doc, 'spec'), 'template'), 'spec'), 'containers')[0];
        if (!isObj(c)) throw new Error('no container');
        c['readinesProbe'] = c['readinessProbe'] ?? null;
        delete c['readinessProbe'];
      });
      assert.deepEqual(await validateK8s(bad.doc), [], 'the generated validators accept unknown fields');
      const problems = strictCheckK8s([bad]);
      assert.equal(problems.length, 1, problems.join('\n'));
      assert.match(problems[0] ?? '', /k8s\/signer\.yaml#0 Deployment\/signer: .*readinesProbe/);
    });

    it('an unknown field of the KEDA ScaledObject spec', () => {
      const bad = broken(find(manifests, 'ScaledObject', 'signer'), (doc) => {
        obj(doc, 'spec')['maxReplicas'] = 10;
      });
      const problems = strictCheckK8s([bad]);
      assert.ok(problems.some((p) => p.includes('maxReplicas')), problems.join('\n'));
    });

    it('a securityContext field at the wrong level', () => {
      const bad = broken(find(manifests, 'Deployment', 'executor'), (doc) => {
        const spec = obj(obj(obj(doc, 'spec'), 'template'), 'spec');
        obj(spec, 'securityContext')['readOnlyRootFilesystem'] = true;
      });
      const problems = strictCheckK8s([bad]);
      assert.ok(problems.some((p) => p.includes('readOnlyRootFilesystem')), problems.join('\n'));
    });

    it('an enum value the API does not define', () => {
      const bad = broken(find(manifests, 'Deployment', 'channels'), (doc) => {
        const c = arr(podSpec({ ...find(manifests, 'Deployment', 'channels'), doc }), 'containers')[0];
        if (!isObj(c)) throw new Error('no container');
        c['imagePullPolicy'] = 'Sometimes';
      });
      assert.equal(mainContainer(bad)['imagePullPolicy'], 'Sometimes');
      const problems = strictCheckK8s([bad]);
      assert.ok(problems.some((p) => p.includes('"Sometimes"')), problems.join('\n'));
    });
  });
});
