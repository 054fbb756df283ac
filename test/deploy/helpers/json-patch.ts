// RFC 6902 JSON Patch, as kustomize applies the patch files of deploy/kubernetes/*/ (its
// patchesJson6902 form): add, remove, replace, move, copy and test, on a copy of the document.
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Container = Json[] | { [key: string]: Json };

export interface PatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export class JsonPatchError extends Error {}

/** "/a/b~1c" → ["a", "b/c"] (RFC 6901). */
function tokensOf(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new JsonPatchError(`Expected a JSON pointer starting with / but received ${JSON.stringify(pointer)}`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isContainer(value: Json | undefined): value is Container {
  return typeof value === 'object' && value !== null;
}

function arrayIndex(array: Json[], token: string, pointer: string, forAdd: boolean): number {
  if (forAdd && token === '-') return array.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPatchError(`${pointer}: ${JSON.stringify(token)} is not an array index`);
  const index = Number(token);
  if (index > array.length || (!forAdd && index === array.length)) throw new JsonPatchError(`${pointer}: index ${index} is out of range`);
  return index;
}

/** The container holding the pointer's last token, and that token. */
function parentOf(doc: Json, pointer: string): { parent: Container; key: string } {
  const tokens = tokensOf(pointer);
  const key = tokens.pop();
  if (key === undefined) throw new JsonPatchError('the whole document cannot be the target here');
  let node: Json | undefined = doc;
  for (const token of tokens) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, pointer, false)];
    else if (isContainer(node) && Object.hasOwn(node, token)) node = node[token];
    else throw new JsonPatchError(`${pointer}: ${JSON.stringify(token)} does not exist`);
  }
  if (!isContainer(node)) throw new JsonPatchError(`${pointer}: the parent is not an object or array`);
  return { parent: node, key };
}

function get(doc: Json, pointer: string): Json {
  let node: Json | undefined = doc;
  for (const token of tokensOf(pointer)) {
    if (Array.isArray(node)) node = node[arrayIndex(node, token, pointer, false)];
    else if (isContainer(node) && Object.hasOwn(node, token)) node = node[token];
    else throw new JsonPatchError(`${pointer} does not exist`);
  }
  return node as Json;
}

function add(doc: Json, pointer: string, value: Json): Json {
  if (pointer === '') return value;
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, true), 0, value);
  else parent[key] = value;
  return doc;
}

function remove(doc: Json, pointer: string): Json {
  const { parent, key } = parentOf(doc, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, pointer, false), 1);
  else if (Object.hasOwn(parent, key)) delete parent[key];
  else throw new JsonPatchError(`${pointer} does not exist`);
  return doc;
}

const clone = <T>(value: T): T => structuredClone(value);

/** JSON text with object keys sorted: equal for equal documents whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** Applies `operations` in order to a copy of `document`; throws JsonPatchError naming the failing path. */
export function applyJsonPatch<T>(document: T, operations: readonly PatchOperation[]): T {
  let doc = clone(document) as Json;
  for (const operation of operations) {
    const value = clone(operation.value) as Json;
    switch (operation.op) {
      case 'add':
        doc = add(doc, operation.path, value);
        break;
      case 'remove':
        doc = remove(doc, operation.path);
        break;
      case 'replace':
        get(doc, operation.path); // must exist
        doc = operation.path === '' ? value : add(remove(doc, operation.path), operation.path, value);
        break;
      case 'move': {
        const moved = get(doc, operation.from ?? '');
        doc = add(remove(doc, operation.from ?? ''), operation.path, moved);
        break;
      }
      case 'copy':
        doc = add(doc, operation.path, clone(get(doc, operation.from ?? '')));
        break;
      case 'test':
        if (canonicalJson(get(doc, operation.path)) !== canonicalJson(value)) {
          throw new JsonPatchError(`test failed at ${operation.path}: expected ${JSON.stringify(value)}`);
        }
        break;
      default:
        throw new JsonPatchError(`unknown operation ${JSON.stringify((operation as { op: unknown }).op)}`);
    }
  }
  return doc as T;
}
