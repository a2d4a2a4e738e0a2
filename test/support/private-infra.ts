// Private instances of the infrastructure for fault tests: a Kafka broker (the same jars as
// scripts/infra.sh), a Redis server and a PostgreSQL cluster, each on free ports with its own data,
// which a test may stop, kill, restart and put behind a TcpProxy without disturbing other tests.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { findJava, freePort } from './registry-process.ts';
import { waitFor } from './wait.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

async function stopChild(child: ChildProcess | null, signal: NodeJS.Signals, timeoutMs = 30_000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, timeoutMs))]);
  if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await exited; }
}

export class PrivateKafka {
  readonly port: number;
  readonly controllerPort: number;
  readonly dir: string;
  private child: ChildProcess | null = null;
  private readonly properties: string;

  private constructor(port: number, controllerPort: number, dir: string) {
    this.port = port;
    this.controllerPort = controllerPort;
    this.dir = dir;
    this.properties = `${dir}/server.properties`;
  }

  get brokers(): string { return `127.0.0.1:${this.port}`; }

  /**
   * `advertisedPort`: the port clients are told to connect to — a TcpProxy in front of the broker,
   * so that every connection (not only the bootstrap one) goes through the proxy.
   */
  static async create(options: { advertisedPort?: number } = {}): Promise<PrivateKafka> {
    const dir = mkdtempSync(`${tmpdir()}/sentinel-kafka-`);
    const kafka = new PrivateKafka(await freePort(), await freePort(), dir);
    const base = readFileSync(`${ROOT}infra/kafka/server.properties`, 'utf8')
      .replace(/^listeners=.*$/m, `listeners=PLAINTEXT://127.0.0.1:${kafka.port},CONTROLLER://127.0.0.1:${kafka.controllerPort}`)
      .replace(/^advertised\.listeners=.*$/m, `advertised.listeners=PLAINTEXT://127.0.0.1:${options.advertisedPort ?? kafka.port}`)
      .replace(/^controller\.quorum\.voters=.*$/m, `controller.quorum.voters=1@127.0.0.1:${kafka.controllerPort}`)
      .replace(/^log\.dirs=.*$/m, `log.dirs=${dir}/data`);
    writeFileSync(kafka.properties, `${base}\n# faster failure detection in fault tests\ngroup.min.session.timeout.ms=2000\n`);
    const java = findJava(17);
    const cp = `${ROOT}infra/kafka/target/lib/*`;
    const id = execFileSync(java, ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!;
    execFileSync(java, ['-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', kafka.properties], { stdio: 'ignore' });
    return kafka;
  }

  async start(): Promise<void> {
    const java = findJava(17);
    const log = `${this.dir}/broker.log`;
    writeFileSync(log, '');
    this.child = spawn(java, ['-Xms128m', '-Xmx512m', '-XX:+UseSerialGC', '-cp', `${ROOT}infra/kafka/target/lib/*`, 'kafka.Kafka', this.properties], {
      stdio: ['ignore', 'ignore', 'ignore'],
    });
    await waitFor(async () => (await portOpen(this.port)) && existsSync(`${this.dir}/data`), { timeoutMs: 90_000, intervalMs: 200, what: `private Kafka on ${this.port}` });
  }

  /** Controlled shutdown (SIGTERM), as an operator's restart would do. */
  async stop(): Promise<void> { await stopChild(this.child, 'SIGTERM'); this.child = null; }
  /** A crash. */
  async kill(): Promise<void> { await stopChild(this.child, 'SIGKILL'); this.child = null; }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export class PrivateRedis {
  readonly port: number;
  private child: ChildProcess | null = null;
  private constructor(port: number) { this.port = port; }

  static async create(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  async start(): Promise<void> {
    this.child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    await waitFor(() => portOpen(this.port), { timeoutMs: 20_000, what: `private Redis on ${this.port}` });
  }

  async stop(): Promise<void> { await stopChild(this.child, 'SIGTERM'); this.child = null; }
  async destroy(): Promise<void> { await stopChild(this.child, 'SIGKILL'); this.child = null; }
}

function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('no PostgreSQL binaries under /usr/lib/postgresql');
  return `/usr/lib/postgresql/${versions[0]}/bin`;
}

/** A PostgreSQL cluster of its own (trust auth, user postgres), run as the postgres OS user when we are root. */
export class PrivatePostgres {
  readonly port: number;
  readonly dir: string;
  private constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  private run(binary: string, args: string[]): void {
    const bin = `${postgresBin()}/${binary}`;
    const asRoot = process.getuid?.() === 0;
    const result = asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8' })
      : spawnSync(bin, args, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${binary} ${args.join(' ')} failed: ${result.stderr}${result.stdout}`);
  }

  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(`${tmpdir()}/sentinel-pg-`);
    chmodSync(dir, 0o700);
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      chownSync(dir, uid, gid);
    }
    const pg = new PrivatePostgres(await freePort(), dir);
    mkdirSync(`${dir}/data`, { recursive: true, mode: 0o700 });
    if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
    pg.run('initdb', ['-D', `${dir}/data`, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    return pg;
  }

  async start(): Promise<void> {
    this.run('pg_ctl', ['-D', `${this.dir}/data`, '-l', `${this.dir}/pg.log`, '-w', '-t', '60',
      '-o', `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`, 'start']);
    await waitFor(() => portOpen(this.port), { timeoutMs: 30_000, what: `private PostgreSQL on ${this.port}` });
  }

  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    this.run('pg_ctl', ['-D', `${this.dir}/data`, '-m', mode, '-w', 'stop']);
  }

  async destroy(): Promise<void> {
    try { this.run('pg_ctl', ['-D', `${this.dir}/data`, '-m', 'immediate', '-w', 'stop']); } catch { /* already stopped */ }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
