import type { Reporter, TestModule } from 'vitest/node';

/**
 * Ends every run with one plain line — `tests: N passed, N failed, N skipped` —
 * and names each skipped suite with its reason, so a run that skipped a
 * database can never pass unnoticed.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const skippedSuites = new Set<string>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') failed++;
        else {
          skipped++;
          const top = test.fullName.split(' > ')[0];
          if (top) skippedSuites.add(top);
        }
      }
    }
    for (const suite of skippedSuites) console.log(`skipped suite: ${suite}`);
    console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  }
}
