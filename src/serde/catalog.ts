// Loads the Avro schemas in schemas/avro: named types shared by events live in common/, and each
// event schema refers to them by full name. The catalog inlines each referenced type at its first
// use, producing the self-contained schema that is registered and used for encoding.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

export const SCHEMAS_DIR = fileURLToPath(new URL('../../schemas/avro/', import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface CatalogEntry {
  name: string;
  /** The self-contained schema, as registered. */
  schema: Json;
  /** The schema as canonical-ish text (JSON.stringify of `schema`). */
  text: string;
  type: avro.Type;
}

const PRIMITIVES = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);

function fullName(schema: { name?: Json; namespace?: Json }, enclosing: string): string {
  const name = String(schema.name);
  if (name.includes('.')) return name;
  const ns = typeof schema.namespace === 'string' ? schema.namespace : enclosing;
  return ns ? `${ns}.${name}` : name;
}

/** Inlines named types from `shared` at their first reference; later references stay names (valid Avro). */
export function inlineReferences(schema: Json, shared: ReadonlyMap<string, Json>): Json {
  const defined = new Set<string>();
  const walk = (node: Json, namespace: string): Json => {
    if (typeof node === 'string') {
      if (PRIMITIVES.has(node)) return node;
      const qualified = node.includes('.') ? node : namespace ? `${namespace}.${node}` : node;
      if (defined.has(qualified) || defined.has(node)) return node;
      const found = shared.get(qualified) ?? shared.get(node);
      if (!found) throw new Error(`unknown Avro type reference "${node}"`);
      return walk(structuredClone(found), namespace);
    }
    if (Array.isArray(node)) return node.map((branch) => walk(branch, namespace));
    if (node === null || typeof node !== 'object') return node;
    const copy: { [key: string]: Json } = { ...node };
    let innerNamespace = namespace;
    if (typeof copy.name === 'string' && (copy.type === 'record' || copy.type === 'enum' || copy.type === 'fixed' || copy.type === 'error')) {
      const qualified = fullName(copy, namespace);
      defined.add(qualified);
      innerNamespace = qualified.slice(0, qualified.lastIndexOf('.'));
    }
    if (Array.isArray(copy.fields)) {
      copy.fields = copy.fields.map((field) => {
        const f = { ...(field as { [key: string]: Json }) };
        f.type = walk(f.type ?? null, innerNamespace);
        return f;
      });
    } else if (copy.type !== undefined && copy.type !== 'record' && copy.type !== 'enum' && copy.type !== 'fixed') {
      if (copy.type === 'array') copy.items = walk(copy.items ?? null, innerNamespace);
      else if (copy.type === 'map') copy.values = walk(copy.values ?? null, innerNamespace);
      else copy.type = walk(copy.type, innerNamespace);
    }
    return copy;
  };
  return walk(schema, '');
}

export function loadCatalog(dir = SCHEMAS_DIR): Map<string, CatalogEntry> {
  const shared = new Map<string, Json>();
  for (const file of readdirSync(`${dir}/common`).filter((f) => f.endsWith('.avsc'))) {
    const schema = JSON.parse(readFileSync(`${dir}/common/${file}`, 'utf8')) as { [key: string]: Json };
    shared.set(fullName(schema, ''), schema);
  }
  const catalog = new Map<string, CatalogEntry>();
  for (const file of readdirSync(`${dir}/events`).filter((f) => f.endsWith('.avsc')).sort()) {
    const raw = JSON.parse(readFileSync(`${dir}/events/${file}`, 'utf8')) as Json;
    const schema = inlineReferences(raw, shared);
    const name = file.slice(0, -'.avsc'.length);
    catalog.set(name, { name, schema, text: JSON.stringify(schema), type: avro.Type.forSchema(schema as avro.Schema) });
  }
  return catalog;
}
