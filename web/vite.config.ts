import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Served by the Nest service at /ui (src/web-ui); `npm run dev` proxies the API to a local service.
export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
