// Mocha root hooks: every test file starts on the backend CI uses (wasm unless
// GHOSTDET_TEST_BACKEND says otherwise), so the gradient kernels are exercised.
import { initBackend, BackendName } from '../runtime/backend';

export const mochaHooks = {
  async beforeAll(): Promise<void> {
    await initBackend((process.env.GHOSTDET_TEST_BACKEND as BackendName | undefined) ?? 'wasm');
  },
};
