// Builds the browser client: web/src/main.ts and web/src/style.css bundled and minified by esbuild
// into app.js and app.css, next to a copy of web/index.html. `npm run build:web` writes web/dist,
// which the server serves at / (WEB_ROOT); the tests build into a directory of their own.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

import { build, type BuildOptions } from 'esbuild';

export const WEB_DIR = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_OUT_DIR = join(WEB_DIR, 'dist');

const COMMON: BuildOptions = {
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'silent',
  write: false,
};

export interface BuiltFile {
  name: string;
  bytes: number;
  /** zlib gzip at level 9, as a budget counts it. */
  gzipBytes: number;
}

export const gzipSize = (data: Uint8Array): number => gzipSync(data, { level: 9 }).length;

/** One entry bundled and minified in memory (for the size budgets). */
export async function bundle(entry: string): Promise<Uint8Array> {
  const result = await build({ ...COMMON, entryPoints: [resolve(WEB_DIR, entry)], outfile: 'out.js' });
  const file = result.outputFiles?.[0];
  if (!file) throw new Error(`esbuild produced nothing for ${entry}`);
  return file.contents;
}

/** Builds the page into `outDir` (emptied first) and returns what it wrote. */
export async function buildWeb(outDir: string = DEFAULT_OUT_DIR): Promise<BuiltFile[]> {
  const [js, css] = await Promise.all([bundle('src/main.ts'), bundle('src/style.css')]);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'app.js'), js);
  await writeFile(join(outDir, 'app.css'), css);
  const html = await readFile(join(WEB_DIR, 'index.html'));
  await writeFile(join(outDir, 'index.html'), html);
  return [
    { name: 'index.html', bytes: html.length, gzipBytes: gzipSize(html) },
    { name: 'app.js', bytes: js.length, gzipBytes: gzipSize(js) },
    { name: 'app.css', bytes: css.length, gzipBytes: gzipSize(css) },
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = resolve(process.argv[2] ?? DEFAULT_OUT_DIR);
  const files = await buildWeb(outDir);
  for (const f of files) console.log(`${relative(process.cwd(), join(outDir, f.name))}  ${f.bytes} B, ${f.gzipBytes} B gzip`);
  console.log(`total ${files.reduce((n, f) => n + f.gzipBytes, 0)} B gzip`);
}
