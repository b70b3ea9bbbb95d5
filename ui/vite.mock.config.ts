import { defineConfig } from 'vite';

// TEST ONLY: bundles the fake back end (test/mock/backend.ts) into one classic script that the
// tests inject before the production bundle. Output goes to test-dist/, never to dist/.
export default defineConfig({
  build: {
    outDir: 'test-dist',
    emptyOutDir: true,
    target: 'es2022',
    minify: false,
    lib: { entry: 'test/mock/backend.ts', formats: ['iife'], name: 'JilianMockBackend', fileName: () => 'mock.js' },
  },
});
