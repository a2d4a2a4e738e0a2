// A strict RFC 8259 JSON parser for signed payloads. Pure.
// JSON.parse keeps the last of duplicate members and accepts lone surrogate escapes; parsers in other
// languages differ on both, so a signed payload that relies on either could mean different things to
// different verifiers. This parser refuses them, and refuses invalid UTF-8, a byte-order mark,
// non-finite numbers and nesting deeper than a fixed bound. Objects come back with a null prototype.

export type StrictJsonResult = { ok: true; value: unknown } | { ok: false; reason: string };

const MAX_DEPTH = 32;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class JsonSyntax extends Error {}

class Parser {
  private pos = 0;
  private readonly text: string;
  constructor(text: string) {
    this.text = text;
  }

  parseDocument(): unknown {
    const value = this.value(0);
    this.ws();
    if (this.pos !== this.text.length) this.fail('trailing characters after the JSON value');
    return value;
  }

  private fail(message: string): never {
    throw new JsonSyntax(`${message} at offset ${this.pos}`);
  }

  private ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  private value(depth: number): unknown {
    this.ws();
    const c = this.text[this.pos];
    switch (c) {
      case '{': return this.object(depth + 1);
      case '[': return this.array(depth + 1);
      case '"': return this.string();
      case 't': return this.literal('true', true);
      case 'f': return this.literal('false', false);
      case 'n': return this.literal('null', null);
      default: return this.number();
    }
  }

  private literal<T>(word: string, result: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('unexpected token');
    this.pos += word.length;
    return result;
  }

  private number(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null || match[0].length === 0) this.fail('unexpected token');
    this.pos += match[0].length;
    const n = Number(match[0]);
    if (!Number.isFinite(n)) this.fail('number out of the IEEE-754 double range');
    return n;
  }

  private string(): string {
    const t = this.text;
    this.pos++; // opening quote
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= t.length) this.fail('unterminated string');
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        out += t.slice(runStart, this.pos);
        this.pos++;
        break;
      }
      if (c < 0x20) this.fail('unescaped control character in string');
      if (c === 0x5c) {
        out += t.slice(runStart, this.pos);
        out += this.escape();
        runStart = this.pos;
        continue;
      }
      this.pos++;
    }
    // Raw lone surrogates cannot come from valid UTF-8; escaped ones are rebuilt here and checked.
    if (!out.isWellFormed()) this.fail('lone surrogate in string');
    return out;
  }

  private escape(): string {
    const t = this.text;
    const e = t[this.pos + 1];
    this.pos += 2;
    switch (e) {
      case '"': return '"';
      case '\\': return '\\';
      case '/': return '/';
      case 'b': return '\b';
      case 'f': return '\f';
      case 'n': return '\n';
      case 'r': return '\r';
      case 't': return '\t';
      case 'u': {
        const hex = t.slice(this.pos, this.pos + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail('bad \\u escape');
        this.pos += 4;
        return String.fromCharCode(parseInt(hex, 16));
      }
      default: return this.fail('bad escape');
    }
  }

  private array(depth: number): unknown[] {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.pos++;
    const out: unknown[] = [];
    this.ws();
    if (this.text[this.pos] === ']') { this.pos++; return out; }
    for (;;) {
      out.push(this.value(depth));
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === ']') return out;
      if (c !== ',') { this.pos--; this.fail('expected , or ]'); }
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) this.fail('nesting too deep');
    this.pos++;
    const out = Object.create(null) as Record<string, unknown>;
    this.ws();
    if (this.text[this.pos] === '}') { this.pos++; return out; }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a member name');
      const key = this.string();
      if (Object.hasOwn(out, key)) this.fail(`duplicate member "${key}"`);
      this.ws();
      if (this.text[this.pos] !== ':') this.fail('expected :');
      this.pos++;
      out[key] = this.value(depth);
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === '}') return out;
      if (c !== ',') { this.pos--; this.fail('expected , or }'); }
    }
  }
}

/** Parses UTF-8 JSON bytes strictly. */
export function parseStrictJson(bytes: Uint8Array): StrictJsonResult {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'not valid UTF-8' };
  }
  if (text.charCodeAt(0) === 0xfeff) return { ok: false, reason: 'byte-order mark before the JSON value' };
  try {
    return { ok: true, value: new Parser(text).parseDocument() };
  } catch (error) {
    if (error instanceof JsonSyntax) return { ok: false, reason: error.message };
    if (error instanceof RangeError) return { ok: false, reason: 'nesting too deep' };
    throw error;
  }
}
