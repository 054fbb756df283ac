// The layers of src/ run one way: cli/server → http → memory → native/audio/model, with shared/
// under everything. This reads every import of src/ (type-only ones too, since they tie files
// together just the same) and fails on an import that runs back up or on any cycle of files.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', 'src');

/** What each area of src/ may import, besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  cli: ['server', 'http', 'memory', 'native', 'audio', 'model', 'transcript', 'shared'],
  index: ['native', 'audio', 'model', 'transcript', 'shared'],
  server: ['http', 'memory', 'native', 'audio', 'model', 'transcript', 'shared'],
  http: ['memory', 'native', 'audio', 'model', 'transcript', 'shared'],
  memory: ['native', 'audio', 'model', 'shared'],
  model: ['native', 'shared'],
  audio: ['native', 'shared'],
  transcript: ['native', 'shared'],
  native: ['shared'],
  shared: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The area of a file: its first folder under src/, or its name for a file at the top (cli.ts, index.ts). */
function areaOf(file: string): string {
  const [first = ''] = relative(SRC, file).split('/');
  return first.replace(/\.ts$/, '');
}

// `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`, over several lines too.
const IMPORT = /(?:^|[;\s])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[;\s])import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const targets: string[] = [];
  for (const match of text.matchAll(IMPORT)) {
    const spec = match[1] ?? match[2] ?? match[3];
    if (spec?.startsWith('.')) targets.push(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
  }
  return targets;
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

function cycles(): string[][] {
  // Tarjan's strongly connected components; any component of more than one file is a cycle.
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (file: string): void => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file) as number, index.get(target) as number));
      }
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop() as string;
        onStack.delete(member);
        component.push(relative(SRC, member));
      } while (member !== file);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const file of files) if (!index.has(file)) visit(file);
  return found;
}

describe('src/ layers', () => {
  it('reads the imports it checks', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get(join(SRC, 'cli.ts'))?.length).toBeGreaterThan(0);
    for (const area of new Set(files.map(areaOf))) expect(ALLOWED, `area ${area} has no rule`).toHaveProperty(area);
  });

  it('imports only what exists', () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !graph.has(t)).map((t) => `${relative(SRC, file)} → ${relative(SRC, t)}`));
    expect(missing).toEqual([]);
  });

  it('imports run one way: cli/server → http → memory → native/audio/model → shared', () => {
    const upward = [...graph].flatMap(([file, targets]) => {
      const from = areaOf(file);
      return targets
        .filter((target) => {
          const to = areaOf(target);
          return to !== from && !(ALLOWED[from] ?? []).includes(to);
        })
        .map((target) => `${relative(SRC, file)} → ${relative(SRC, target)}`);
    });
    expect(upward).toEqual([]);
  });

  it('has no import cycles', () => {
    expect(cycles()).toEqual([]);
  });
});
