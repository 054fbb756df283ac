// Renders a kustomization of deploy/kubernetes/ the way `kubectl apply -k` would, for the fields
// those kustomizations use: resources (files and directories), images, and patches given as JSON
// patch files with a kind/name target. Any other field is refused, so a kustomization cannot grow a
// feature this renderer would silently ignore. Where kubectl is installed, the test also compares the
// result with `kubectl kustomize`.
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { parseAllDocuments } from 'yaml';

import { applyJsonPatch, type PatchOperation } from './json-patch.js';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface PatchRule {
  path: string;
  target: { kind: string; name: string };
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  resources?: string[];
  images?: ImageRule[];
  patches?: PatchRule[];
}

const KNOWN_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'images', 'patches']);

/** Every document of a YAML file (empty ones skipped); a YAML error throws. */
export function readYamlDocuments(file: string): unknown[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).flatMap((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

export const keyOf = (object: K8sObject): string => `${object.kind}/${object.metadata.name}`;

/** The image reference with kustomize's image rule applied when its name matches. */
function retag(image: string, rules: readonly ImageRule[]): string {
  const at = image.indexOf('@');
  const withoutDigest = at >= 0 ? image.slice(0, at) : image;
  const colon = withoutDigest.lastIndexOf(':');
  const hasTag = colon > withoutDigest.lastIndexOf('/');
  const name = hasTag ? withoutDigest.slice(0, colon) : withoutDigest;
  const rule = rules.find((r) => r.name === name);
  if (!rule) return image;
  const tag = hasTag ? withoutDigest.slice(colon + 1) : undefined;
  const newName = rule.newName ?? name;
  if (rule.digest) return `${newName}@${rule.digest}`;
  const newTag = rule.newTag ?? tag;
  const digest = at >= 0 && !rule.newTag ? image.slice(at) : '';
  return `${newName}${newTag ? `:${newTag}` : ''}${digest}`;
}

function applyImages(object: K8sObject, rules: readonly ImageRule[]): void {
  const pod = (object as { spec?: { template?: { spec?: Record<string, unknown> } } }).spec?.template?.spec;
  if (!pod) return;
  for (const list of ['initContainers', 'containers'] as const) {
    for (const container of (pod[list] as Array<{ image?: string }> | undefined) ?? []) {
      if (container.image) container.image = retag(container.image, rules);
    }
  }
}

/** The objects `kubectl apply -k dir` would apply. */
export function renderKustomization(dir: string): K8sObject[] {
  const file = join(dir, 'kustomization.yaml');
  const [kustomization] = readYamlDocuments(file) as [Kustomization];
  const unknown = Object.keys(kustomization).filter((field) => !KNOWN_FIELDS.has(field));
  if (unknown.length > 0) throw new Error(`${file}: fields this renderer does not apply: ${unknown.join(', ')}`);

  const objects: K8sObject[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) objects.push(...renderKustomization(path));
    else objects.push(...(readYamlDocuments(path) as K8sObject[]));
  }
  const seen = new Set<string>();
  for (const object of objects) {
    if (seen.has(keyOf(object))) throw new Error(`${file}: ${keyOf(object)} appears twice`);
    seen.add(keyOf(object));
  }

  for (const patch of kustomization.patches ?? []) {
    const operations = readYamlDocuments(join(dir, patch.path))[0] as PatchOperation[];
    if (!Array.isArray(operations)) throw new Error(`${patch.path}: expected a JSON patch (a list of operations)`);
    const index = objects.findIndex((o) => o.kind === patch.target.kind && o.metadata.name === patch.target.name);
    if (index < 0) throw new Error(`${patch.path}: no ${patch.target.kind}/${patch.target.name} to patch`);
    objects[index] = applyJsonPatch(objects[index]!, operations);
  }
  for (const object of objects) applyImages(object, kustomization.images ?? []);
  return objects;
}

/** `kubectl kustomize dir`, or null where kubectl is not installed. */
export function kubectlKustomize(dir: string): K8sObject[] | null {
  let text: string;
  try {
    text = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseAllDocuments(text).map((doc) => doc.toJS() as K8sObject);
}
