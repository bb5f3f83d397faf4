// Mocha root hooks: every test file starts on the backend CI uses (wasm unless
// GHOSTDET_TEST_BACKEND says otherwise), so the gradient kernels are exercised.
import { initBackend, BackendName } from '../backend/init_backend';
import { missingFixtures, SHARED } from './helpers';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await initBackend((process.env.GHOSTDET_TEST_BACKEND as BackendName | undefined) ?? 'wasm');
  },
  afterAll(): void {
    if (!missingFixtures.size) return;
    const suites = [...missingFixtures.values()].reduce((n, t) => n + t.length, 0);
    console.log(`\nskipped ${suites} test${suites === 1 ? '' : 's'} or suites for want of large fixtures (${[...missingFixtures.keys()].join(', ')}): ` +
      `not in test/fixtures, nor in GHOSTDET_SHARED (${SHARED}). Point GHOSTDET_SHARED at the shared folder to run them.`);
  },
};
