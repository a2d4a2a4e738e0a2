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
// Strings that JSON.stringify would copy through unchanged: no escapes, no surrogates to check.
const PLAIN_STRING = /^[\u0020\u0021\u0023-\u005b\u005d-\ud7ff\ue000-\uffff]*$/;

/** The path of the member being serialised, kept as a stack and rendered only when an error needs it. */
type PathStack = Array<string | number>;

function fail(message: string, path: PathStack): never {
  const pointer = path.map((p) => `/${String(p).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
  throw new CanonicalizationError(message, pointer);
}

function serializeString(value: string, path: PathStack): string {
  if (PLAIN_STRING.test(value)) return `"${value}"`;
  if (LONE_SURROGATE.test(value)) fail('lone surrogate in string', path);
  return JSON.stringify(value);
}

function serializeNumber(value: number, path: PathStack): string {
  if (!Number.isFinite(value)) fail('non-finite number', path);
  if (Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) fail('integer outside the IEEE-754 safe range', path);
    return value === 0 ? '0' : String(value); // -0 becomes "0", as RFC 8785 requires
  }
  return JSON.stringify(value);
}

function serialize(value: unknown, path: PathStack): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean': return value ? 'true' : 'false';
    case 'number': return serializeNumber(value, path);
    case 'string': return serializeString(value, path);
    case 'object': break;
    default: fail(`unsupported value of type ${typeof value}`, path);
  }
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      path.push(i);
      out += serialize(value[i], path);
      path.pop();
    }
    return `${out}]`;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) fail('only plain objects can be canonicalised', path);
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const member = record[key];
    path.push(key);
    if (member === undefined) fail(`undefined member "${key}"`, path.slice(0, -1));
    if (i > 0) out += ',';
    out += `${serializeString(key, path)}:${serialize(member, path)}`;
    path.pop();
  }
  return `${out}}`;
}

/** The canonical JSON text of `value`. Throws CanonicalizationError on input JCS cannot represent exactly. */
export function canonicalize(value: unknown): string {
  return serialize(value, []);
}

/** UTF-8 bytes of the canonical JSON text. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalize(value), 'utf8');
}
