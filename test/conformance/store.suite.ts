import { afterAll, beforeAll, describe } from 'vitest';
import { availability, isSql, openBackend, type Backend, type BackendKind } from '../support/backends.js';
import { checkSuite } from './check.js';
import { commitProbeSuite } from './commit-probe.js';
import { conditionalWriteSuite } from './conditional-write.js';
import { directWriteSuite } from './direct-write.js';
import { fenceSuite, fenceTableSuite } from './fence.js';
import { leaseFenceSuite } from './lease-fence.js';
import { hashSuite } from './hash.js';
import { lookupSuite } from './lookup.js';
import { readKeySuite } from './read-key.js';
import { scanSuite } from './scan.js';
import { syncSuite } from './sync.js';
import { tableSplitSuite } from './table-split.js';
import { typesSuite } from './types.js';
import { updateKeySuite } from './update-key.js';

/**
 * The one conformance suite every adapter passes, on a real database.
 * The memory and Redis stores hold each entity whole, so the SQL parts
 * (table split, schema check, fence and probe tables) are not theirs to pass.
 */
export function storeConformance(kind: BackendKind): void {
  const { run, reason } = availability(kind);
  describe.skipIf(!run)(`${kind} store${run ? '' : ` — skipped: ${reason}`}`, () => {
    let backend: Backend | undefined;
    const get = (): Backend => {
      if (!backend) throw new Error('backend not open');
      return backend;
    };
    beforeAll(async () => {
      backend = await openBackend(kind);
    });
    afterAll(async () => {
      await backend?.close();
    });
    typesSuite(get, kind);
    scanSuite(get);
    conditionalWriteSuite(get);
    syncSuite(get);
    hashSuite(get, kind);
    fenceSuite(get);
    leaseFenceSuite(get);
    directWriteSuite(get, kind);
    lookupSuite(get, kind);
    readKeySuite(get);
    updateKeySuite(get);
    if (isSql(kind)) {
      tableSplitSuite(get);
      checkSuite(get, kind);
      fenceTableSuite(get);
      commitProbeSuite(get);
    }
  });
}
