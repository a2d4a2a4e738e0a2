// A small TCP proxy for fault tests: put it between a client and Kafka, PostgreSQL or Redis, then
// cut the network (close every connection and refuse new ones), slow it, and restore it.
import net from 'node:net';

export class TcpProxy {
  port = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly targetHost: string;
  private readonly targetPort: number;
  private cut = false;
  private delayMs = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.server = net.createServer((client) => this.onConnection(client));
  }

  static async start(targetHost: string, targetPort: number, listenPort = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(listenPort, '127.0.0.1', resolve));
    proxy.port = (proxy.server.address() as net.AddressInfo).port;
    return proxy;
  }

  private onConnection(client: net.Socket): void {
    if (this.cut) { client.destroy(); return; }
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    this.track(client);
    this.track(upstream);
    this.pipe(client, upstream);
    this.pipe(upstream, client);
  }

  private pipe(from: net.Socket, to: net.Socket): void {
    from.on('data', (chunk) => {
      if (this.cut) return;
      if (this.delayMs > 0) {
        from.pause();
        setTimeout(() => { if (!to.destroyed) to.write(chunk); from.resume(); }, this.delayMs);
      } else if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.on('close', () => to.destroy());
    from.on('error', () => to.destroy());
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
  }

  /** Drops every open connection and refuses new ones until restore(). */
  cutNetwork(): void {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  /** Adds latency to every chunk in both directions (0 to stop). */
  slow(delayMs: number): void {
    this.delayMs = delayMs;
  }

  restore(): void {
    this.cut = false;
    this.delayMs = 0;
  }

  get connections(): number {
    return this.sockets.size;
  }

  async close(): Promise<void> {
    this.cutNetwork();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
