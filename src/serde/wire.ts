// Confluent wire format: byte 0 = magic 0, bytes 1-4 = schema id (big-endian int32), then the
// Avro binary body. Pure; pinned by golden bytes in test/unit/serde/wire.unit.test.ts.
import { SentinelError } from '../errors/index.ts';

export const MAGIC_BYTE = 0;
export const HEADER_LENGTH = 5;

export function encodeFrame(schemaId: number, body: Buffer): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0x7fffffff) {
    throw new RangeError(`schema id must be a non-negative int32, got ${schemaId}`);
  }
  const frame = Buffer.allocUnsafe(HEADER_LENGTH + body.length);
  frame[0] = MAGIC_BYTE;
  frame.writeInt32BE(schemaId, 1);
  body.copy(frame, HEADER_LENGTH);
  return frame;
}

export function decodeFrame(frame: Buffer): { schemaId: number; body: Buffer } {
  if (frame.length < HEADER_LENGTH) {
    throw new SentinelError('SNT_SERDE_TRUNCATED', `record of ${frame.length} bytes is shorter than the ${HEADER_LENGTH}-byte header`);
  }
  if (frame[0] !== MAGIC_BYTE) {
    throw new SentinelError('SNT_SERDE_BAD_MAGIC', `record starts with byte ${frame[0]}, not the magic byte ${MAGIC_BYTE}`);
  }
  const schemaId = frame.readInt32BE(1);
  if (schemaId < 0) throw new SentinelError('SNT_SERDE_UNKNOWN_SCHEMA', `negative schema id ${schemaId}`);
  return { schemaId, body: frame.subarray(HEADER_LENGTH) };
}
