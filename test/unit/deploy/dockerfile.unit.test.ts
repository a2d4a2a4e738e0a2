// The Dockerfile and .dockerignore, checked without a Docker engine: the base image, the
// production-only install from the lock file, the non-root user, the build context, and the
// entrypoint script itself, run with a stand-in `node` to prove which main file each service
// name starts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  APP_SERVICES, ROOT, arr, find, loadCompose, loadK8sManifests, mainContainer, num, obj, optObj,
  podSpec, readText,
} from './support.ts';

const dockerfile = readText('Dockerfile');
/** Instruction lines with continuation lines joined (heredoc bodies are kept apart). */
const instructions = dockerfile
  .replace(/<<"?(\w+)"?([^\n]*)\n[\s\S]*?\n\1\n/g, '<<$1$2\n')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l !== '' && !l.startsWith('#'));

function lines(keyword: string): string[] {
  return instructions.filter((l) => l.toUpperCase().startsWith(`${keyword} `)).map((l) => l.slice(keyword.length + 1).trim());
}

/** The entrypoint script, from the COPY heredoc of the Dockerfile. */
function entrypointScript(): string {
  const m = /COPY[^\n]*<<"?(\w+)"?\s+\/usr\/local\/bin\/sentinel-entrypoint\n([\s\S]*?)\n\1\n/.exec(dockerfile);
  if (!m?.[2]) throw new Error('no sentinel-entrypoint heredoc in the Dockerfile');
  return `${m[2]}\n`;
}

interface Run { status: number | null; argv: string[]; stderr: string }

/** Runs the entrypoint with /bin/sh and a stand-in `node` that prints the arguments it got. */
function runEntrypoint(args: readonly string[]): Run {
  const dir = mkdtempSync(path.join(tmpdir(), 'sentinel-entrypoint-'));
  try {
    const script = path.join(dir, 'sentinel-entrypoint');
    writeFileSync(script, entrypointScript());
    chmodSync(script, 0o755);
    const fakeNode = path.join(dir, 'node');
    writeFileSync(fakeNode, '#!/bin/sh\nfor a in "$@"; do printf "%s\\n" "$a"; done\n');
    chmodSync(fakeNode, 0o755);
    const r = spawnSync('/bin/sh', [script, ...args], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' });
    return { status: r.status, argv: r.stdout.split('\n').filter((l) => l !== ''), stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MAINS: Readonly<Record<string, string>> = {
  policy: 'consumers/policy/main.ts',
  signer: 'consumers/signer/main.ts',
  executor: 'consumers/executor/main.ts',
  channels: 'producers/channels/main.ts',
  cli: 'src/cli/main.ts',
};

describe('Dockerfile', () => {
  it('builds every stage from a Node.js 24 slim image', () => {
    const arg = lines('ARG').find((a) => a.startsWith('NODE_IMAGE='));
    assert.ok(arg, 'ARG NODE_IMAGE=...');
    assert.match(arg.slice('NODE_IMAGE='.length), /^node:24(\.\d+)*(-[a-z]+)?-slim$/);
    const froms = lines('FROM');
    assert.ok(froms.length >= 2, 'a dependencies stage and a runtime stage');
    for (const f of froms) assert.match(f, /^\$\{NODE_IMAGE\}( AS \w+)?$/i);
  });

  it('installs production dependencies only, from the lock file, without install scripts', () => {
    const copy = lines('COPY').find((c) => c.includes('package-lock.json'));
    assert.ok(copy?.includes('package.json'), 'package.json and package-lock.json are copied first');
    const ci = lines('RUN').find((r) => r.includes('npm ci'));
    assert.ok(ci, 'npm ci');
    assert.match(ci, /npm ci --omit=dev/);
    assert.match(ci, /--ignore-scripts/);
    assert.ok(!lines('RUN').some((r) => /npm (install|i) /.test(r)), 'no npm install');
  });

  it('runs as the non-root user the Kubernetes manifests pin', () => {
    const users = lines('USER');
    const last = users.at(-1);
    assert.ok(last, 'USER');
    assert.ok(!/^(root|0)(:|$)/.test(last), `USER ${last}`);
    const uid = Number(last.split(':')[0]);
    const manifests = loadK8sManifests();
    for (const s of APP_SERVICES) {
      assert.equal(num(obj(podSpec(find(manifests, 'Deployment', s)), 'securityContext'), 'runAsUser'), uid, `${s} runAsUser`);
    }
  });

  it('binds the services to every interface and exposes their ports', () => {
    assert.ok(lines('ENV').some((e) => /\bHOST=0\.0\.0\.0\b/.test(e)));
    const exposed = lines('EXPOSE').flatMap((e) => e.split(/\s+/)).map(Number).sort((a, b) => a - b);
    assert.deepEqual(exposed, [3000, 5000, 7000, 8080, 8081]);
  });

  it('selects the service with its entrypoint', () => {
    assert.deepEqual(lines('ENTRYPOINT'), ['["/usr/local/bin/sentinel-entrypoint"]']);
  });

  describe('the entrypoint script', () => {
    for (const [service, main] of Object.entries(MAINS)) {
      it(`starts ${main} for "${service}" and passes the other arguments on`, () => {
        const r = runEntrypoint([service, '--flag', 'value with space']);
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(r.argv, [main, '--flag', 'value with space']);
      });
    }

    it('accepts the seed names openclaw, bridge and aureus-os', () => {
      assert.deepEqual(runEntrypoint(['openclaw']).argv, [MAINS['channels']]);
      assert.deepEqual(runEntrypoint(['bridge']).argv, [MAINS['signer']]);
      assert.deepEqual(runEntrypoint(['aureus-os']).argv, [MAINS['policy']]);
    });

    it('refuses an unknown service, or none, with a usage message and exit code 64', () => {
      for (const args of [['gateway'], []]) {
        const r = runEntrypoint(args);
        assert.equal(r.status, 64);
        assert.deepEqual(r.argv, []);
        assert.match(r.stderr, /usage: sentinel-entrypoint policy\|signer\|executor\|channels\|cli/);
      }
    });

    it('starts what docker-compose.yml and the Deployments ask for', () => {
      const services = obj(loadCompose(), 'services');
      for (const s of APP_SERVICES) {
        const command = arr(obj(services, s), 'command').map(String);
        assert.deepEqual(runEntrypoint(command).argv, [MAINS[s]], `compose ${s}`);
      }
      const manifests = loadK8sManifests();
      for (const s of APP_SERVICES) {
        const args = arr(mainContainer(find(manifests, 'Deployment', s)), 'args').map(String);
        assert.deepEqual(runEntrypoint(args).argv, [MAINS[s]], `Deployment ${s}`);
      }
    });
  });

  it('runs the compose init with the image\'s node and the CLI', () => {
    const init = obj(obj(loadCompose(), 'services'), 'init');
    assert.deepEqual(init['entrypoint'], ['/bin/sh', '-ec']);
    assert.ok(optObj(init, 'build') || typeof init['image'] === 'string');
  });
});

describe('.dockerignore', () => {
  const patterns = readText('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));

  it('keeps dependencies, VCS data, local state, secrets and tests out of the build context', () => {
    for (const p of ['node_modules', '.git', '.env', '.tools', '.state', 'test']) assert.ok(patterns.includes(p), p);
  });

  it('keeps everything the services need at run time in the build context', () => {
    const needed = ['src', 'consumers', 'producers', 'schemas', 'topics.yaml', 'policy', 'config', 'package.json', 'package-lock.json'];
    for (const p of patterns) {
      assert.ok(!['*', '**', '.', '/'].includes(p), `${p} would empty the context`);
      for (const n of needed) assert.ok(p !== n && !p.startsWith(`${n}/`), `${p} excludes ${n}`);
    }
  });
});

describe('the image has every package the services import', () => {
  function sources(dir: string, out: string[] = []): string[] {
    if (!existsSync(dir)) return out;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) sources(p, out);
      else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !/\.test\.ts$/.test(e.name)) out.push(p);
    }
    return out;
  }

  // Runtime imports (not `import type`), static and dynamic, of bare package names.
  const IMPORT = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

  function packageName(specifier: string): string | undefined {
    if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
    const parts = specifier.split('/');
    return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  }

  function runtimePackages(text: string): string[] {
    return [...text.matchAll(IMPORT)].map((m) => packageName(m[1] ?? m[2] ?? '')).filter((n): n is string => n !== undefined);
  }

  it('finds runtime imports and leaves type-only, relative and built-in ones out', () => {
    const text = [
      "import type { A } from 'types-only';",
      "import { b, type B } from 'pkg-b';",
      'import {',
      '  c,',
      "} from '@scope/pkg-c/sub/path.js';",
      "import './local.ts';",
      "import fs from 'node:fs';",
      "export { d } from 'pkg-d';",
      "export type { E } from 'pkg-e';",
      "const f = await import('pkg-f/x');",
    ].join('\n');
    assert.deepEqual(runtimePackages(text), ['pkg-b', '@scope/pkg-c', 'pkg-d', 'pkg-f']);
  });

  it('lists every package imported by src/, producers/ and consumers/ under dependencies (npm ci --omit=dev)', () => {
    const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    const deps = new Set(Object.keys(pkg.dependencies ?? {}));
    const missing: string[] = [];
    let imports = 0;
    for (const file of ['src', 'producers', 'consumers'].flatMap((d) => sources(path.join(ROOT, d)))) {
      for (const name of runtimePackages(readFileSync(file, 'utf8'))) {
        imports++;
        if (!deps.has(name)) missing.push(`${name} (${path.relative(ROOT, file)})`);
      }
    }
    assert.ok(imports > 0, 'no package import found');
    assert.deepEqual([...new Set(missing)], [], 'imported at run time but not a production dependency');
  });
});
