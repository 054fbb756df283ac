// A reader for the Dockerfiles' instructions, enough to compare two of them: line continuations
// joined, comments dropped, instructions grouped by stage. Not a full Dockerfile parser (no parser
// directives, no heredocs: the project's Dockerfiles use neither, and a real builder checks them in
// test/deploy/image.container.ts).
import { readFileSync } from 'node:fs';

export interface Instruction {
  /** Upper case: FROM, RUN, ENV, ... */
  keyword: string;
  /** Everything after the keyword, continuations joined by a space. */
  args: string;
}

export interface Stage {
  /** The FROM image as written, e.g. `${BASE}`. */
  from: string;
  /** The name after AS, or null. */
  name: string | null;
  instructions: Instruction[];
}

export interface Dockerfile {
  /** ARGs before the first FROM, with their defaults (null when none). */
  globalArgs: Map<string, string | null>;
  stages: Stage[];
}

/** Splits a Dockerfile's text into instructions. */
export function instructionsOf(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    // A comment line is removed before continuations are joined, also in the middle of one.
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    const continued = line.endsWith('\\');
    pending += (pending === '' ? '' : ' ') + (continued ? line.slice(0, -1).trim() : line);
    if (continued) continue;
    if (pending !== '') {
      const match = /^(\S+)\s*(.*)$/s.exec(pending);
      if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim() });
    }
    pending = '';
  }
  return instructions;
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs = new Map<string, string | null>();
  const stages: Stage[] = [];
  for (const instruction of instructionsOf(text)) {
    if (instruction.keyword === 'FROM') {
      const match = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!match) throw new Error(`Cannot read FROM ${instruction.args}`);
      stages.push({ from: match[1]!, name: match[2] ?? null, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before the first FROM`);
      const [name, value] = splitAssignment(instruction.args);
      globalArgs.set(name, value);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

export function readDockerfile(path: string): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

/** The stage an image is made of: the last one. */
export function finalStage(file: Dockerfile): Stage {
  const stage = file.stages.at(-1);
  if (!stage) throw new Error('No FROM');
  return stage;
}

export function stageNamed(file: Dockerfile, name: string): Stage {
  const stage = file.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`No stage named ${name}`);
  return stage;
}

/** The arguments of every instruction of a kind in a stage, in order. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** The last instruction of a kind: the one that counts for USER, CMD, ENTRYPOINT, HEALTHCHECK, ... */
export function lastArgs(stage: Stage, keyword: string): string | undefined {
  return argsOf(stage, keyword).at(-1);
}

/** Every ENV of a stage, merged (`ENV A=1 B="two words"`); the legacy `ENV A 1` form is refused. */
export function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const args of argsOf(stage, 'ENV')) {
    const pairs = args.match(/[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|\S*)/g) ?? [];
    if (pairs.join(' ') !== args.replace(/\s+/g, ' ')) throw new Error(`Cannot read ENV ${args}: write KEY=value pairs`);
    for (const pair of pairs) {
      const [name, value] = splitAssignment(pair);
      env.set(name, value ?? '');
    }
  }
  return env;
}

/** An exec-form (JSON array) argument, e.g. ENTRYPOINT ["node", "dist/cli.js"]. */
export function execForm(args: string | undefined): string[] {
  if (args === undefined) throw new Error('missing instruction');
  const parsed: unknown = JSON.parse(args);
  if (!Array.isArray(parsed) || !parsed.every((p) => typeof p === 'string')) throw new Error(`Not an exec form: ${args}`);
  return parsed;
}

function splitAssignment(text: string): [string, string | null] {
  const eq = text.indexOf('=');
  if (eq < 0) return [text.trim(), null];
  return [text.slice(0, eq).trim(), unquote(text.slice(eq + 1).trim())];
}

function unquote(value: string): string {
  return /^(["']).*\1$/s.test(value) ? value.slice(1, -1) : value;
}
