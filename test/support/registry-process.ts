// Starts a separate Apicurio Registry process (same jar as scripts/infra.sh, its own PostgreSQL
// database and port), so a test can restart it without disturbing the shared registry.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Config } from '../../src/config/index.ts';
import { waitFor } from './wait.ts';

const JAR = fileURLToPath(new URL('../../infra/apicurio/target/app/quarkus-run.jar', import.meta.url));

export function findJava(minMajor: number): string {
  const candidates = [
    process.env.JAVA_HOME ? `${process.env.JAVA_HOME}/bin/java` : '',
    ...(existsSync('/usr/lib/jvm') ? readdirSync('/usr/lib/jvm').map((d) => `/usr/lib/jvm/${d}/bin/java`) : []),
    'java',
  ].filter(Boolean);
  for (const java of candidates) {
    const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
    const match = /version "(\d+)/.exec(`${result.stderr ?? ''}${result.stdout ?? ''}`);
    if (match && Number(match[1]) >= minMajor) return java;
  }
  throw new Error(`no Java ${minMajor}+ found (JAVA_HOME, /usr/lib/jvm, PATH)`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export class RegistryProcess {
  readonly port: number;
  readonly managementPort: number;
  readonly database: string;
  private readonly postgres: Config['postgres'];
  private child: ChildProcess | null = null;

  constructor(port: number, managementPort: number, database: string, postgres: Config['postgres']) {
    this.port = port;
    this.managementPort = managementPort;
    this.database = database;
    this.postgres = postgres;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/apis/ccompat/v7`;
  }

  static async create(postgres: Config['postgres'], database: string): Promise<RegistryProcess> {
    const admin = new pg.Client({ ...postgres, database: 'postgres', password: postgres.password || undefined });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
    return new RegistryProcess(await freePort(), await freePort(), database, postgres);
  }

  async start(): Promise<void> {
    const java = findJava(21);
    this.child = spawn(java, [
      '-Xms64m', '-Xmx384m', '-XX:+UseSerialGC',
      '-Dquarkus.http.host=127.0.0.1', `-Dquarkus.http.port=${this.port}`,
      '-Dquarkus.management.host=127.0.0.1', `-Dquarkus.management.port=${this.managementPort}`,
      '-Dapicurio.storage.kind=sql', '-Dapicurio.storage.sql.kind=postgresql',
      `-Dapicurio.datasource.url=jdbc:postgresql://${this.postgres.host}:${this.postgres.port}/${this.database}`,
      `-Dapicurio.datasource.username=${this.postgres.user}`, '-Dquarkus.log.level=WARN',
      '-jar', JAR,
    ], { stdio: 'ignore', env: { ...process.env, APICURIO_DATASOURCE_PASSWORD: this.postgres.password } });
    await waitFor(() => fetch(`${this.url}/subjects`).then((r) => r.ok, () => false), { timeoutMs: 120_000, intervalMs: 250, what: `registry on port ${this.port}` });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 20_000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
    this.child = null;
  }

  async dropDatabase(): Promise<void> {
    const admin = new pg.Client({ ...this.postgres, database: 'postgres', password: this.postgres.password || undefined });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`);
    await admin.end();
  }
}
