import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { midair, writeSqliteUsers } from './cli-support.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('dead letters in the CLI', () => {
  it('regression: a backfill whose rows all dead-lettered exited 0 as complete; now exit 1, the gate blocks, and accepting is audited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'midair-dead-'));
    dirs.push(dir);
    writeSqliteUsers(dir, (old) => {
      old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT NOT NULL)');
      for (let i = 1; i <= 6; i++) old.prepare('INSERT INTO users VALUES (?, NULL, ?)').run(i, `user ${i}`); // new requires an email
    });
    expect((await midair(dir, ['phase', 'advance', '--reason', 'start', '--force'])).code).toBe(0); // no application here

    const b = await midair(dir, ['backfill']);
    expect(b.code).toBe(1);
    expect(b.stdout).toContain('backfill: complete with 6 dead letters');
    const list = await midair(dir, ['dead-letters', 'list', '--json']);
    expect(list.code).toBe(1);
    const letters = list.json<{ total: number; letters: { keyId: string; reason: string }[] }>();
    expect(letters.total).toBe(6);
    expect(letters.letters.every((d) => d.reason.startsWith('CONSTRAINT'))).toBe(true);
    expect(list.stdout).not.toContain('user 1'); // keys and codes, never values

    const blocked = await midair(dir, ['phase', 'advance', '--reason', 'next']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('6 dead letter(s)');

    expect((await midair(dir, ['dead-letters', 'retry'])).code).toBe(1); // still failing: the data is unchanged
    expect((await midair(dir, ['dead-letters', 'accept', '--reason', 'no email, dropped on purpose'])).code).toBe(2);
    const accepted = await midair(dir, [
      'dead-letters',
      'accept',
      '--force',
      '--reason',
      'no email, dropped on purpose',
    ]);
    expect(accepted.code).toBe(0);
    const status = (await midair(dir, ['status', '--json'])).json<{
      recentChanges: { action: string; reason: string; forced: boolean }[];
      deadLetters: number;
    }>();
    expect(status.deadLetters).toBe(0);
    expect(status.recentChanges.find((c) => c.action === 'dead-letter-accept')).toMatchObject({ forced: true });
    // Only the fleet gate blocks now (no application runs in this test): the dead letters no longer do.
    const after = await midair(dir, ['phase', 'advance', '--reason', 'next']);
    expect(after.stderr).toMatch(/blocked by 1 gate\(s\):\n\s+fleet: no live instance/);
    expect(after.stderr).not.toContain('dead letter');
  });
});
