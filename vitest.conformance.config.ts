import { defineConfig } from 'vitest/config';

/**
 * The conformance suite: tests that read ../shared (the real-message corpus, Google's discovery
 * document). A user's clone has no ../shared, so `npm test` leaves these out; CI runs both.
 */
export default defineConfig({
  test: {
    include: ['test/conformance/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env: { NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' },
  },
});
