// RFC 8785 JSON Canonicalization Scheme (JCS), strict.
// Pure. Object keys are sorted by UTF-16 code units (what Array.prototype.sort does by default),
// numbers use ECMAScript's shortest round-trip form (what JSON.stringify does), strings use
// JSON.stringify's escaping. Inputs that different JSON parsers would read differently are refused
// instead of being canonicalised: non-finite numbers, integers beyond 2^53, lone surrogates,
// and anything that is not plain JSON data.

export class CanonicalizationError extends Error {
  override readonly name = 'CanonicalizationError';
  readonly path: string;
  constructor(message: string, path: string) {
    super(`${message} at ${path || '/'}`);
    this.path = path;
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function serializeString(value: string, path: string): string {
  if (LONE_SURROGATE.test(value)) throw new CanonicalizationError('lone surrogate in string', path);
  return JSON.stringify(value);
}

function serializeNumber(value: number, path: string): string {
  if (!Number.isFinite(value)) throw new CanonicalizationError('non-finite number', path);
  if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
    throw new CanonicalizationError('integer outside the IEEE-754 safe range', path);
  }
  return JSON.stringify(value); // -0 becomes "0", as RFC 8785 requires
}

function serialize(value: unknown, path: string, out: string[]): void {
  if (value === null) { out.push('null'); return; }
  switch (typeof value) {
    case 'boolean': out.push(value ? 'true' : 'false'); return;
    case 'number': out.push(serializeNumber(value, path)); return;
    case 'string': out.push(serializeString(value, path)); return;
    case 'object': break;
    default: throw new CanonicalizationError(`unsupported value of type ${typeof value}`, path);
  }
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      serialize(value[i], `${path}/${i}`, out);
    }
    out.push(']');
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalizationError('only plain objects can be canonicalised', path);
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  out.push('{');
  let first = true;
  for (const key of keys) {
    const member = record[key];
    if (member === undefined) throw new CanonicalizationError(`undefined member "${key}"`, path);
    if (!first) out.push(',');
    first = false;
    out.push(serializeString(key, path), ':');
    serialize(member, `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, out);
  }
  out.push('}');
}

/** The canonical JSON text of `value`. Throws CanonicalizationError on input JCS cannot represent exactly. */
export function canonicalize(value: unknown): string {
  const out: string[] = [];
  serialize(value, '', out);
  return out.join('');
}

/** UTF-8 bytes of the canonical JSON text. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
