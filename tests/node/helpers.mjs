// Shared by the node client tests: where the mock is, and what to do when it is not there.
//
// MOCK_BASE_URL is the server's root (http://127.0.0.1:PORT) or its API base (.../v1); both work.
// tests/integration/test_node_clients.py starts the mock and sets it.

export const MOCK_BASE_URL = process.env.MOCK_BASE_URL ?? '';

/** Reason to skip every client test, or false when the mock's address is known. */
export const skipReason = MOCK_BASE_URL
  ? false
  : 'MOCK_BASE_URL is not set: start `python -m mockserver serve` and export its URL';

/** The OpenAI-style API base, always ending in /v1 (no trailing slash). */
export const apiBase = (() => {
  const trimmed = MOCK_BASE_URL.replace(/\/+$/, '');
  return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`;
})();

export const API_KEY = 'sk-mock-node-tests';

/** Fail fast instead of hanging until node's own test timeout when a stream never ends. */
export const TEST_TIMEOUT_MS = 20_000;
