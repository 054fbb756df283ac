// `npm run test:image`: the container image built and run with podman (test/deploy/image.container.ts).
// Apart from `npm test`: it needs root and podman, and a cold build takes minutes.
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/deploy/image.container.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 40 * 60_000,
  },
});
