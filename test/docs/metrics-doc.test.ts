import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FIGURES } from '../../src/metrics/catalogue.js';

const DOC = readFileSync(fileURLToPath(new URL('../../docs/metrics.md', import.meta.url)), 'utf8');

describe('docs/metrics.md', () => {
  it('lists every figure under both its names, with its labels, as the exporters spell them', () => {
    const rows = new Map(
      [...DOC.matchAll(/^\| `(midair_\w+)` \| `(midair\.[\w.]+)` \| (\w+) \| ([^|]*) \|/gm)].map((m) => [m[1], m]),
    );
    for (const f of Object.values(FIGURES)) {
      const row = rows.get(f.prometheus);
      expect(row, f.prometheus).toBeDefined();
      const labels = f.labels.filter((l) => l !== 'migration').map((l) => `\`${l}\``);
      expect({ name: f.prometheus, otel: row?.[2], kind: row?.[3], labels: row?.[4]?.trim() }).toEqual({
        name: f.prometheus,
        otel: f.otel,
        kind: f.kind,
        labels: labels.length === 0 ? '–' : labels.join(', '),
      });
    }
    expect(rows.size).toBe(Object.keys(FIGURES).length);
  });
});
