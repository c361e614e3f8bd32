// Run in a process of its own by test/migration/timeout.test.ts: nothing but the hung call keeps it alive.
import { withTimeout } from '../../src/migration/timeout.js';

try {
  await withTimeout(async () => new Promise<never>(() => undefined), 50, 'get on new');
  process.stdout.write('resolved\n');
} catch (error) {
  process.stdout.write(`${(error as { code?: string }).code ?? 'unknown'}: ${(error as Error).message}\n`);
}
