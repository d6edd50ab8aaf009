import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Each file gets its own database (PGlite in memory, or a fresh PostgreSQL database), so files
    // run in parallel; two workers match the two cores this project is built and tested on.
    pool: 'forks',
    maxWorkers: 2,
    // Files in one worker share its loaded modules: each file still opens its own database and app,
    // and no test mocks a module or changes the environment, so isolation bought nothing but the
    // time to import the service again for every file (about two minutes a suite).
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
