import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Tests that read ../shared run in the conformance suite (vitest.conformance.config.ts).
    exclude: ['test/conformance/**', 'node_modules/**'],
    // Native modules (better-sqlite3, node-llama-cpp) need process forks, not VM contexts.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  },
});
