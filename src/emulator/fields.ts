/**
 * The standard `fields` parameter (partial responses): `nextPageToken,messages/id`,
 * `messages(id,threadId)`, `*`. Unknown syntax keeps the whole response rather than failing.
 */
type FieldTree = Map<string, FieldTree | true>;

export function parseFields(spec: string): FieldTree | null {
  let pos = 0;
  const parseList = (): FieldTree => {
    const tree: FieldTree = new Map();
    while (pos < spec.length) {
      const ch = spec[pos];
      if (ch === ')') break;
      if (ch === ',' || ch === ' ') {
        pos++;
        continue;
      }
      const [name, sub] = parseEntry();
      merge(tree, name, sub);
    }
    return tree;
  };
  // One field with what it selects below: `name`, `name/path` or `name(list)`.
  const parseEntry = (): [string, FieldTree | true] => {
    let name = '';
    while (pos < spec.length && !',()/'.includes(spec[pos] as string)) name += spec[pos++];
    let sub: FieldTree | true = true;
    if (spec[pos] === '/') {
      pos++;
      sub = new Map([parseEntry()]);
    } else if (spec[pos] === '(') {
      pos++;
      sub = parseList();
      if (spec[pos] === ')') pos++;
    }
    return [name.trim(), sub];
  };
  try {
    const tree = parseList();
    return tree.size > 0 ? tree : null;
  } catch {
    return null;
  }
}

function merge(tree: FieldTree, name: string, sub: FieldTree | true): void {
  const existing = tree.get(name);
  if (existing === undefined || sub === true) tree.set(name, existing === true ? true : sub);
  else if (existing !== true) for (const [k, v] of sub) merge(existing, k, v);
}

export function applyFields(value: unknown, tree: FieldTree | null): unknown {
  if (!tree || tree.has('*')) return value;
  if (Array.isArray(value)) return value.map((item) => applyFields(item, tree));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of tree) {
    const v = (value as Record<string, unknown>)[key];
    if (v === undefined) continue;
    out[key] = sub === true ? v : applyFields(v, sub);
  }
  return out;
}
