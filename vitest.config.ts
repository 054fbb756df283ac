import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The fleet test starts HAProxy, Prometheus, Alertmanager and four servers: npm run test:fleet.
    exclude: [...configDefaults.exclude, 'test/fleet/**'],
    // Native inference on 2 cores: files run one at a time so timings and RSS figures are not
    // skewed by a neighbour, and each file gets a fresh process (forks) so a native crash names its file.
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
