// Runs a Sentinel service as a child process (for benchmarks, so load generator and service do not
// share an event loop, and for tests that SIGKILL an instance), and waits until /ready answers 200.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Sums a Prometheus metric's samples whose labels include every given label. */
export async function scrapeMetric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

export interface ServiceProcess { child: ChildProcess; url: string; stop(): Promise<void>; kill(): Promise<void>; log(): string }

export async function startServiceProcess(main: string, port: number, env: Record<string, string>): Promise<ServiceProcess> {
  const lines: string[] = [];
  const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', `${ROOT}${main}`], {
    env: { ...process.env, LOG_LEVEL: 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => { lines.push(chunk.toString()); if (lines.length > 10_000) lines.shift(); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${main} exited ${child.exitCode}: ${lines.join('')}`);
    const ok = await fetch(`${url}/ready`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${main} not ready: ${lines.join('')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child, url,
    log: () => lines.join(''),
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}
