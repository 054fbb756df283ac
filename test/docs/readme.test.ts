// The README's configuration tables list every setting the server reads, with its flag.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ALL_SETTINGS, flagOf } from '../../src/http/config.js';

const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');

describe('README', () => {
  it('documents every setting with its variable and flag', () => {
    for (const s of ALL_SETTINGS) expect(readme, s.env).toContain(`| \`${s.env}\` | \`--${flagOf(s.env)}\` |`);
  });

  it('names the set-up, run and test commands', () => {
    for (const command of ['npm install', 'npm start', 'npm test']) expect(readme).toContain(command);
  });
});
