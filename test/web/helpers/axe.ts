// axe-core run inside the page: the violations of the WCAG A/AA rules and axe's best practices, each
// as "rule: what is wrong (the elements)", so a failing test says what to fix.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

import type { Page } from 'playwright-core';

const source = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  help: string;
  nodes: { target: string[] }[];
}

export async function axeViolations(page: Page): Promise<string[]> {
  // Evaluated over the debugger protocol, not added as a <script>: the page's Content-Security-Policy
  // (script-src 'self') rightly refuses inline scripts.
  if (!(await page.evaluate('typeof axe !== "undefined"'))) await page.evaluate(await source);
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`)) as AxeViolation[];
  return violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}
