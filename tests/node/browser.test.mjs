// A real browser (Debian's chromium, driven by playwright-core) streams from the mock with fetch,
// from a page on another origin: CORS preflight, streamed body, exposed x-request-id.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import { API_KEY, apiBase, skipReason, TEST_TIMEOUT_MS } from './helpers.mjs';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const PAGE = new URL('./browser/index.html', import.meta.url);
const PROMPT = 'Stream a short greeting to the browser';
const MODEL = 'gpt-4o';
const mockRoot = apiBase.replace(/\/v1$/, '');

const skip =
  skipReason ||
  (existsSync(CHROMIUM_PATH)
    ? false
    : `no chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`);

/** Serves the test page on 127.0.0.1:<free port>: another origin than the mock. */
async function startPageServer() {
  const html = await readFile(PAGE);
  const server = createServer((request, response) => {
    const path = new URL(request.url, 'http://localhost').pathname;
    if (request.method === 'GET' && path === '/favicon.ico') {
      response.writeHead(204);
      response.end();
    } else if (request.method === 'GET' && (path === '/' || path === '/index.html')) {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end(html);
    } else {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** What the mock streams for the page's request, read from node: the content of every chunk. */
async function expectedDeltas() {
  const response = await fetch(`${apiBase}/chat/completions`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${API_KEY}` },
    body: JSON.stringify({
      model: MODEL,
      stream: true,
      messages: [{ role: 'user', content: PROMPT }],
    }),
  });
  assert.equal(response.status, 200);
  const text = await response.text();
  const deltas = [];
  let chunks = 0;
  for (const event of text.split('\n\n')) {
    const data = event.replace(/^data: /, '');
    if (!data || data === '[DONE]') continue;
    chunks += 1;
    for (const choice of JSON.parse(data).choices) {
      if (choice.delta.content) deltas.push(choice.delta.content);
    }
  }
  return { deltas, chunks };
}

describe('browser fetch stream from another origin (chromium)', { skip }, () => {
  let browser;
  let pageServer;

  before(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    pageServer = await startPageServer();
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (pageServer ? pageServer.close(resolve) : resolve()));
  });

  test('every chunk appears, then done; x-request-id is readable', { timeout: TEST_TIMEOUT_MS }, async () => {
    const pageOrigin = `http://127.0.0.1:${pageServer.address().port}`;
    assert.notEqual(new URL(apiBase).origin, pageOrigin, 'the page is cross-origin');

    const page = await browser.newPage();
    const consoleErrors = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    let streamHeaders = null;
    page.on('response', (response) => {
      if (response.request().method() === 'POST') streamHeaders = response.headers();
    });

    const query = new URLSearchParams({ api: apiBase, model: MODEL, prompt: PROMPT });
    await page.goto(`${pageOrigin}/?${query}`);
    await page.waitForFunction(
      () => {
        const text = document.getElementById('status').textContent;
        return text === 'done' || text.startsWith('error');
      },
      null,
      { timeout: TEST_TIMEOUT_MS - 5_000 },
    );
    const status = await page.textContent('#status');
    assert.equal(status, 'done', `page status (console errors: ${consoleErrors.join(' | ')})`);

    const shown = await page.$$eval('span.chunk', (spans) => spans.map((span) => span.textContent));
    const shownChunks = Number(await page.textContent('#chunk-count'));
    const requestId = await page.textContent('#request-id');

    // The mock's reply depends only on the body (and seed), so node gets the same stream.
    const expected = await expectedDeltas();
    assert.ok(expected.deltas.length > 1, 'the stream has several content chunks');
    assert.deepEqual(shown, expected.deltas, 'every content chunk appeared, in order');
    assert.equal(shownChunks, expected.chunks, 'every chunk was parsed');

    assert.match(requestId, /\S/, 'x-request-id is exposed to JS');
    if (streamHeaders) assert.equal(requestId, streamHeaders['x-request-id']);
    assert.deepEqual(consoleErrors, []);

    // The mock's journal saw the browser's cross-origin POST (its preflight passed, or fetch
    // would have failed before sending it) and the browser read the stream to the end.
    const journal = await (await fetch(`${mockRoot}/__admin/requests`)).json();
    const fromPage = journal.requests.filter((entry) => entry.headers.Origin === pageOrigin);
    assert.equal(fromPage.length, 1, 'one request from the page origin');
    assert.equal(fromPage[0].id, requestId, 'the journal id is the exposed x-request-id');
    assert.match(fromPage[0].headers.Authorization, /^Bearer /, 'sent with an Authorization header');
    assert.equal(fromPage[0].status, 200);
    assert.equal(fromPage[0].client_hung_up, false);
    await page.close();
  });
});
