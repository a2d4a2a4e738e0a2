// A deterministic local embedder: feature hashing of words and character trigrams into a fixed
// number of dimensions, L2-normalised. No model, no download, no randomness: the same text gives
// the same vector on every machine, so similarities in recorded decisions can be recomputed.
// It captures lexical similarity (shared words and word fragments), not meaning.

export interface Embedder {
  /** Identifies the embedding space; stored vectors from another space must not be compared. */
  readonly name: string;
  readonly dimension: number;
  embed(text: string): number[];
}

export interface HashingEmbedderOptions {
  /** Power of two, 16..4096. Default 256. */
  dimension?: number;
  /** Weight of whole words relative to character trigrams. Default 2. */
  wordWeight?: number;
}

/** FNV-1a, 32 bits, over UTF-16 code units. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let hash = seed;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function normaliseText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/g, ' ').trim();
}

export class HashingEmbedder implements Embedder {
  readonly name: string;
  readonly dimension: number;
  private readonly mask: number;
  private readonly wordWeight: number;

  constructor(options: HashingEmbedderOptions = {}) {
    const dimension = options.dimension ?? 256;
    if (!Number.isInteger(dimension) || dimension < 16 || dimension > 4096 || (dimension & (dimension - 1)) !== 0) {
      throw new RangeError(`dimension must be a power of two between 16 and 4096 (got ${dimension})`);
    }
    this.dimension = dimension;
    this.mask = dimension - 1;
    this.wordWeight = options.wordWeight ?? 2;
    this.name = `hashing-v1-d${dimension}-w${this.wordWeight}`;
  }

  embed(text: string): number[] {
    const vector = new Array<number>(this.dimension).fill(0);
    const words = normaliseText(text).split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 0);
    for (const word of words.length > 0 ? words : ['(empty)']) {
      this.add(vector, `w:${word}`, this.wordWeight);
      const padded = `^${word}$`;
      for (let i = 0; i + 3 <= padded.length; i++) this.add(vector, padded.slice(i, i + 3), 1);
    }
    let norm = 0;
    for (const x of vector) norm += x * x;
    norm = Math.sqrt(norm);
    return vector.map((x) => x / norm);
  }

  private add(vector: number[], feature: string, weight: number): void {
    const hash = fnv1a(feature);
    // The low bits pick the slot; the top bit picks the sign, so collisions cancel out on average.
    const slot = hash & this.mask;
    vector[slot] = vector[slot]! + (hash >>> 31 === 1 ? -weight : weight);
  }
}

/** Cosine similarity of two vectors of equal length (0 when either is zero). */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`vector lengths differ (${a.length} and ${b.length})`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}
