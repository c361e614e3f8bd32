import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDemo, runDemo } from '../../src/demo/index.js';

describe('the demo (the README’s main command)', () => {
  it('walks every phase under traffic with a fault burst auto-halt catches: 0 client errors, 0 lost writes, verification clean, and an HTML report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midair-demo-test-'));
    try {
      const lines: string[] = [];
      const result = await runDemo({
        rows: 2000,
        phaseSeconds: 1,
        report: join(dir, 'report.html'),
        log: (l) => lines.push(l),
      });
      expect(result).toMatchObject({
        ok: true,
        clientErrors: 0,
        lostWrites: 0,
        staleReads: 0,
        verification: { status: 'equal' },
      });
      expect(result.halts).toBe(1);
      expect(result.faultsInjected).toBeGreaterThan(0);
      expect(result.ops).toBeGreaterThan(500);
      // Every phase served clients, each with its latency figures.
      expect(result.phases.map((p) => p.phase)).toEqual(
        expect.arrayContaining([
          'dual-write',
          'shadow-read',
          'ramp 10 %',
          'ramp 50 %',
          'ramp 100 %',
          'new-primary',
          'old-read-only',
          'complete',
        ]),
      );
      for (const p of result.phases) expect(p.p99Ms).toBeGreaterThanOrEqual(p.p50Ms);
      const events = result.timeline.map((e) => e.event).join('\n');
      expect(events).toMatch(
        /→ dual-write[\s\S]*backfill complete[\s\S]*verification: equal[\s\S]*→ shadow-read[\s\S]*→ ramp 10 %[\s\S]*AUTO-HALT ramp → shadow-read[\s\S]*→ ramp 50 %[\s\S]*→ ramp 100 %[\s\S]*→ new-primary[\s\S]*final verification[\s\S]*→ old-read-only[\s\S]*sweep complete[\s\S]*→ complete/,
      );
      expect(formatDemo(result)).toMatch(/^OK: \d+ operations served, 0 client-visible errors, 0 lost writes/m);
      const html = readFileSync(join(dir, 'report.html'), 'utf8');
      expect(html).toContain('uPlot'); // the chart library is inlined: the page is self-contained
      expect(html).toContain('<div class="strip">');
      expect(html).toMatch(/<b>0<\/b>lost writes/);
      expect(html).not.toMatch(/<script src=/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
