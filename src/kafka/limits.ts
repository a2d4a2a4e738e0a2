// Request size limits: outputs are sent in chunks the broker accepts.

/** Splits messages into chunks of at most `maxBytes` (keys, values and headers), keeping their order. */
export function chunkBySize<T extends { key: string | null; value: Buffer; headers: Record<string, string> }>(messages: T[], maxBytes: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = 0;
  for (const m of messages) {
    let bytes = m.value.length + (m.key?.length ?? 0) + 32;
    for (const [k, v] of Object.entries(m.headers)) bytes += k.length + v.length + 4;
    if (current.length > 0 && size + bytes > maxBytes) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(m);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Below the broker's default message.max.bytes (1 MiB) per request, with room for batch overhead. */
export const MAX_REQUEST_BYTES = 512 * 1024;
