// The README's configuration tables list every setting the server reads, with its flag.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ALL_SETTINGS, flagOf } from '../../src/server/index.js';

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
