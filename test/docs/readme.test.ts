// The README's configuration tables list every setting the server reads, with its flag.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { describe, expect, it } from 'vitest';

import { writeSyntheticModel } from '../../src/model/synthetic.js';
import { ALL_SETTINGS, flagOf } from '../../src/server/index.js';
import { tempDir } from '../helpers/temp-dir.js';

const run = promisify(execFile);

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it('documents every setting with its variable, flag, default and help, as the settings table has them', () => {
    for (const s of ALL_SETTINGS) {
      const shown = s.shown === 'unset' ? 'unset' : `\`${s.shown}\``;
      expect(readme, s.env).toContain(`| \`${s.env}\` | \`--${flagOf(s.env)}\` | ${shown} | ${s.help} |`);
    }
  });

  it('names the set-up, run and test commands', () => {
    for (const command of ['npm install', 'npm start', 'npm test']) expect(readme).toContain(command);
  });
});

describe('README examples', () => {
  it('the "In code" example runs as plain JavaScript on this Node and prints a transcript', async () => {
    const block = /### In code[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(block, 'a js block under "In code"').toBeDefined();
    const dir = await tempDir('readme-example');
    try {
      const model = join(dir.path, 'mini.bin');
      await writeSyntheticModel(model, { dims: 'mini' });
      // The package's own entry point stands in for the installed `talk2me`.
      const entry = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'index.js')).href;
      const script = join(dir.path, 'example.mjs');
      await writeFile(script, (block as string).replace(`from 'talk2me'`, `from '${entry}'`));
      const sample = join(import.meta.dirname, '..', '..', 'samples', 'hello.wav');
      const { stdout } = await run(process.execPath, [script, model, sample]);
      const [text = '', ...rest] = stdout.split('\n');
      expect(text.trim().length).toBeGreaterThan(0); // the synthetic model's gibberish, but a transcript
      expect(rest.join('\n')).toMatch(/rssBytes/); // model.memory() printed
    } finally {
      await dir.remove();
    }
  });
});
