// The dashboard's page, and the charts alone as one script for pages that must stand alone (the demo's report).
// `vite build web/dashboard` builds the page; `--mode report` the charts. Paths are relative to this folder.
import { defineConfig } from 'vite';

export default defineConfig(({ mode }) =>
  mode === 'report'
    ? {
        publicDir: false,
        build: {
          outDir: '../../dist/dashboard/report',
          emptyOutDir: true,
          target: 'es2022',
          lib: {
            entry: 'src/report.ts',
            name: 'MidairCharts',
            formats: ['iife'],
            fileName: () => 'charts.js',
            cssFileName: 'charts',
          },
        },
      }
    : {
        base: './',
        publicDir: false,
        build: { outDir: '../../dist/dashboard/web', emptyOutDir: true, target: 'es2022' },
        // `npx vite web/dashboard` serves the page from source against a running `midair dashboard`.
        server: { proxy: { '/api': 'http://127.0.0.1:7420' } },
      },
);
