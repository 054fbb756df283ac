import { defineConfig } from 'vitest/config';

// npm run test:fleet: the fleet test on its own (it starts eleven processes and takes minutes), kept
// out of `npm test` by the main config's exclude.
export default defineConfig({
  test: {
    include: ['test/fleet/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
