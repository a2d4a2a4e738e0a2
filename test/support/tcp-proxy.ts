// A small TCP proxy for fault tests: put it between a client and Kafka, PostgreSQL or Redis, then
// cut the network (close every connection and refuse new ones), slow it, and restore it.
import net from 'node:net';

export class TcpProxy {
  readonly port: number;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private cut = false;
  private delayMs = 0;

  private constructor(server: net.Server, port: number) {
    this.server = server;
    this.port = port;
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    let proxy!: TcpProxy;
    const server = net.createServer((client) => {
      if (proxy.cut) { client.destroy(); return; }
      const upstream = net.connect({ host: targetHost, port: targetPort });
      proxy.track(client);
      proxy.track(upstream);
      const pipe = (from: net.Socket, to: net.Socket) => {
        from.on('data', (chunk) => {
          if (proxy.cut) return;
          if (proxy.delayMs > 0) {
            from.pause();
            setTimeout(() => { if (!to.destroyed) to.write(chunk); from.resume(); }, proxy.delayMs);
          } else if (!to.write(chunk)) {
            from.pause();
            to.once('drain', () => from.resume());
          }
        });
        from.on('close', () => to.destroy());
        from.on('error', () => to.destroy());
      };
      pipe(client, upstream);
      pipe(upstream, client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
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
