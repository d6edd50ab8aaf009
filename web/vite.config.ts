import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The web app is built to web/dist and served by the service itself (src/http/web-app.ts), so it
 * shares the API's origin: cookies stay first-party and the API's cross-site checks apply as is.
 * Preact through esbuild's automatic JSX runtime (no Babel plugin): React's API at a tenth of its size.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: { alias: { react: 'preact/compat', 'react-dom': 'preact/compat' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // No inline <script> and no inline module-preload polyfill: the CSP allows scripts from 'self' only.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    reportCompressedSize: false,
  },
});
