// The dashboard at /__admin/ui in a real browser (Debian's chromium through playwright-core),
// against real mock processes, with requests sent by the official openai-node SDK.
//
// Run by tests/integration/test_dashboard_browser.py, which starts two mocks and sets:
//   DASHBOARD_URL        a mock without an admin token, serving the fixtures in FIXTURES_DIR
//   FIXTURES_DIR         its fixture folder (a test adds a file there, then presses Reload)
//   DASHBOARD_TOKEN_URL  a mock started with --admin-token DASHBOARD_TOKEN
// Not named *.test.mjs: `node --test tests/node/` (the client tests, one mock without fixtures)
// does not pick it up.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { after, before, describe, test } from 'node:test';

import OpenAI from 'openai';

const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const MOCK = process.env.DASHBOARD_URL ?? '';
const TOKEN_MOCK = process.env.DASHBOARD_TOKEN_URL ?? '';
const TOKEN = process.env.DASHBOARD_TOKEN ?? '';
const FIXTURES_DIR = process.env.FIXTURES_DIR ?? '';
const TIMEOUT = 30_000;
const VIEWPORT = { width: 1280, height: 800 };

const skip = !MOCK
  ? 'DASHBOARD_URL is not set: run tests/integration/test_dashboard_browser.py'
  : existsSync(CHROMIUM_PATH)
    ? false
    : `no chromium at ${CHROMIUM_PATH}: install it (apt-get install chromium) or set CHROMIUM_PATH`;

const sdk = (root, apiKey = 'sk-dashboard-tests') => new OpenAI({ baseURL: `${root}/v1`, apiKey, maxRetries: 0 });
const ask = (text, extra = {}) => ({ model: 'gpt-4o', messages: [{ role: 'user', content: text }], ...extra });

async function admin(root, path, init = {}) {
  const headers = { ...(init.headers ?? {}) };
  if (root === TOKEN_MOCK) headers.Authorization = `Bearer ${TOKEN}`;
  const response = await fetch(`${root}/__admin${path}`, { ...init, headers });
  return { status: response.status, body: await response.json() };
}

/** A page on the dashboard, recording console errors, page errors and CSP refusals. */
async function openDashboard(browser, root, options = {}) {
  const context = await browser.newContext({ viewport: VIEWPORT, ...options });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
  page.on('pageerror', (error) => problems.push(String(error)));
  await page.goto(`${root}/__admin/ui`);
  return { page, problems, context };
}

const rowOf = (page, id) => page.locator(`#request-list li.request[data-id="${id}"]`);

describe('the dashboard in chromium', { skip, concurrency: false }, () => {
  let browser;
  let dash; // the main dashboard page, kept open across tests: nothing reloads it
  const client = sdk(MOCK);

  before(async () => {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    dash = await openDashboard(browser, MOCK);
    await dash.page.waitForSelector('#live.on', { timeout: 5000 });
    await dash.page.evaluate(() => (window.__notReloaded = true));
  });

  after(async () => {
    await browser?.close();
  });

  test('loads with no console errors; an openai SDK request appears within a second', { timeout: TIMEOUT }, async () => {
    const { page, problems } = dash;
    assert.equal(await page.locator('#login').isHidden(), true, 'no token asked for');
    const { data, response } = await client.chat.completions.create(ask('live list please')).withResponse();
    const sentAt = Date.now();
    const id = response.headers.get('x-request-id');
    await rowOf(page, id).waitFor({ timeout: 1000 });
    const seenAfter = Date.now() - sentAt;
    assert.ok(seenAfter < 1000, `shown ${seenAfter} ms after the reply`);
    assert.equal(await page.evaluate(() => window.__notReloaded), true, 'without reloading');
    assert.match(await rowOf(page, id).textContent(), /live list please/);
    assert.match(await rowOf(page, id).locator('.badge.generated').textContent(), /generated/);
    assert.ok(data.choices[0].message.content.length > 0);
    // Newest first.
    assert.equal(await page.locator('#request-list li.request').first().getAttribute('data-id'), id);
    assert.deepEqual(problems, [], 'no console errors, page errors or CSP refusals');
  });

  test('request content is shown as text, never run as markup', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const markup = '<img src=x onerror="window.__pwned = 1"><script>window.__pwned = 2</script>';
    const { response } = await client.chat.completions.create(ask(markup, { model: '<b>model</b>' })).withResponse();
    const id = response.headers.get('x-request-id');
    await rowOf(page, id).click();
    await page.locator('#request-body').waitFor();
    assert.equal(await rowOf(page, id).locator('.preview').textContent(), markup);
    assert.equal(await rowOf(page, id).locator('.model').textContent(), '<b>model</b>');
    assert.equal(await page.locator('#request-body img, #request-list img, #detail b, #request-list b').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  });

  test('a rejected request shows each violation at its path with OpenAI\'s message', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const error = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'first' }, { role: 'user', content: 7 }] })
      .then(() => null, (e) => e);
    assert.ok(error instanceof OpenAI.BadRequestError, String(error));
    const id = error.requestID ?? error.headers?.get?.('x-request-id');
    assert.ok(id, 'the SDK exposes the request id');
    const row = rowOf(page, id);
    await row.waitFor({ timeout: 2000 });
    assert.match(await row.locator('.badge.violation').textContent(), /1 violation/);
    await row.click();
    const line = page.locator('#request-body .jl.violation');
    await line.waitFor();
    assert.equal(await line.count(), 1);
    assert.equal(await line.getAttribute('data-path'), 'messages[1].content');
    assert.match(await line.textContent(), /"content": 7/);
    const note = page.locator('#request-body .jl.note');
    assert.equal((await note.textContent()).replace(/^\u2191\s*/, ''), error.error.message);
    assert.match(await page.locator('#violations').textContent(), /messages\[1\]\.content/);
    assert.match(await page.locator('#answered-by').textContent(), /Rejected by the contract/);
    assert.equal(await page.locator('#save-fixture').isDisabled(), true, 'an invalid request is no fixture');

    // A missing required key is shown on the object that lacks it.
    const missing = await client.chat.completions.create({ messages: [{ role: 'user', content: 'no model' }] }).then(() => null, (e) => e);
    const missingId = missing.requestID ?? missing.headers?.get?.('x-request-id');
    await rowOf(page, missingId).click();
    await page.locator('#request-body .jl.violation').waitFor();
    const journal = (await admin(MOCK, `/requests/${missingId}`)).body;
    const param = journal.violations[0].param;
    const marked = page.locator('#request-body .jl.violation');
    assert.equal(await marked.getAttribute('data-violation'), param);
    assert.match(await page.locator('#request-body .jl.note').first().textContent(), new RegExp(journal.violations[0].message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  test('a stream shows its frames on a timeline with their times', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const { data: stream, response } = await client.chat.completions.create(ask('stream to the timeline', { stream: true })).withResponse();
    let chunks = 0;
    for await (const chunk of stream) if (chunk) chunks += 1;
    const id = response.headers.get('x-request-id');
    await rowOf(page, id).click();
    await page.locator('#timeline li.frame').first().waitFor();
    const frames = page.locator('#timeline li.frame');
    assert.equal(await frames.count(), chunks + 1, 'every chunk, then [DONE]');
    assert.equal((await frames.last().locator('.data').textContent()).trim(), '[DONE]');
    const times = (await frames.locator('.at').allTextContents()).map((t) => Number.parseFloat(t));
    assert.ok(times.every((t, i) => Number.isFinite(t) && (i === 0 || t >= times[i - 1])), `times ascend: ${times}`);
    const journal = (await admin(MOCK, `/requests/${id}`)).body;
    assert.deepEqual(times, journal.frames.map((f) => Number(f.at_ms.toFixed(1))));
    assert.match(await page.locator('#timeline').textContent(), /role=assistant/);
    assert.equal(await page.locator('#hangup').count(), 0);
  });

  test('a stream the client hung up on shows where, and the fault applied', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const { data: stream, response } = await client.chat.completions.create(ask('slow stream please', { stream: true })).withResponse();
    const id = response.headers.get('x-request-id');
    let seen = 0;
    for await (const chunk of stream) {
      seen += chunk ? 1 : 0;
      if (seen === 2) break; // leaving the loop aborts the request: the client hangs up
    }
    await rowOf(page, id).waitFor({ timeout: 5000 });
    assert.match(await rowOf(page, id).textContent(), /hung up/);
    await rowOf(page, id).click();
    await page.locator('#hangup').waitFor();
    assert.match(await page.locator('#hangup').textContent(), /client hung up/);
    const kept = await page.locator('#timeline li.frame:not(.hangup)').count();
    assert.ok(kept >= 2 && kept < 8, `frames before the hang-up: ${kept}`);
    assert.match(await page.locator('#fault').textContent(), /chunk_ms=150/);
    assert.match(await page.locator('#answered-by').textContent(), /slow-stream/);
  });

  test('the list filters by status, fixture, model, stream and text', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    await client.chat.completions.create({ ...ask('filter me, mini'), model: 'gpt-4o-mini' });
    await page.locator('#request-list li.request', { hasText: 'filter me, mini' }).waitFor();
    const shown = () =>
      page.$$eval('#request-list li.request', (rows) => rows.map((row) => row.dataset.id));
    const journal = async () => (await admin(MOCK, '/requests?limit=1000')).body.requests;
    const all = await journal();
    const check = async (select, value, keep) => {
      await page.selectOption(select, value);
      const expected = all.filter(keep).map((e) => e.id);
      assert.ok(expected.length > 0, `${select}=${value} keeps something`);
      assert.ok(expected.length < all.length, `${select}=${value} drops something`);
      assert.deepEqual(await shown(), expected, `${select}=${value}`);
      await page.selectOption(select, '');
    };
    await check('#f-status', '4', (e) => e.status >= 400 && e.status < 500);
    await check('#f-status', 'violations', (e) => e.violations.length > 0);
    await check('#f-stream', 'yes', (e) => e.stream);
    await check('#f-model', 'gpt-4o-mini', (e) => e.model === 'gpt-4o-mini');
    await check('#f-fixture', 'slow-stream', (e) => e.fixture === 'slow-stream');
    await check('#f-fixture', '@generated', (e) => e.generated);
    await page.fill('#f-text', 'FILTER ME');
    assert.deepEqual(await shown(), all.filter((e) => JSON.stringify(e.body).includes('filter me')).map((e) => e.id));
    assert.match(await page.locator('#count').textContent(), new RegExp(`^1 of ${all.length}$`));
    await page.fill('#f-text', '');
    assert.equal((await shown()).length, all.length);
  });

  test('"copy as curl" gives a command that sends the same request', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const request = ask('curl me, 请', { temperature: 0.5 });
    const { data, response } = await client.chat.completions.create(request).withResponse();
    await rowOf(page, response.headers.get('x-request-id')).click();
    await page.locator('#copy-curl').click();
    await page.locator('#curl').waitFor({ state: 'visible' });
    const command = await page.locator('#curl-text').inputValue();
    assert.doesNotMatch(command, /sk-dashboard-tests/, 'the redacted key is not in the command');
    assert.match(command, /\$OPENAI_API_KEY/);
    const output = execFileSync('bash', ['-c', command], { encoding: 'utf8', env: { ...process.env, OPENAI_API_KEY: 'sk-from-curl' } });
    const replayed = JSON.parse(output);
    assert.equal(replayed.choices[0].message.content, data.choices[0].message.content, 'same body, same reply');
    const journal = (await admin(MOCK, '/requests?limit=1')).body.requests[0];
    assert.deepEqual(journal.body, request);
    assert.match(journal.headers.Authorization, /^Bearer sk-\*+/, 'sent with the key from the environment');
    await page.locator('#curl-close').click();
  });

  test('"save as fixture" creates a fixture that then answers the same request', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const request = ask(`save me ${Date.now()}`);
    const { data: first, response } = await client.chat.completions.create(request).withResponse();
    const id = response.headers.get('x-request-id');
    await rowOf(page, id).click();
    await page.locator('#save-fixture').click();
    const editor = page.locator('#editor');
    await editor.waitFor({ state: 'visible' });
    const yaml = await page.locator('#editor-yaml').inputValue();
    assert.match(yaml, /^name: saved-/m);
    assert.match(yaml, new RegExp(`last_user: ${request.messages[0].content}`));
    assert.ok(yaml.includes(first.choices[0].message.content.slice(0, 20)), yaml);
    await page.waitForFunction(() => document.getElementById('editor-state').textContent === 'Valid against fixture.schema.json');

    // The page checks against the schema as one types.
    await page.locator('#editor-yaml').fill(`${yaml}bogus: 1\ntimes: 0\n`);
    await page.waitForFunction(() => document.querySelectorAll('#editor-problems li').length >= 2);
    const problems = await page.locator('#editor-problems').textContent();
    assert.match(problems, /\/times/);
    assert.match(problems, /bogus/);
    assert.equal(await page.locator('#editor-save').isDisabled(), true);
    await page.locator('#editor-yaml').fill('name: [unclosed');
    await page.waitForFunction(() => /line \d/.test(document.getElementById('editor-problems').textContent));

    await page.locator('#editor-yaml').fill(yaml);
    await page.waitForFunction(() => !document.getElementById('editor-save').disabled);
    await page.locator('#editor-save').click();
    await editor.waitFor({ state: 'hidden' });
    assert.match(await page.locator('#toast').textContent(), /added/);

    const name = yaml.match(/^name: (\S+)/m)[1];
    const { data: again, response: replayed } = await client.chat.completions.create(request).withResponse();
    assert.equal(again.choices[0].message.content, first.choices[0].message.content);
    assert.equal(replayed.headers.get('x-mock-matched'), name);
    const listed = (await admin(MOCK, `/fixtures/${name}`)).body;
    assert.equal(listed.calls, 1);
  });

  test('"save as fixture" keeps template characters literal', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const request = ask('braces please');
    const { data: first, response } = await client.chat.completions.create(request).withResponse();
    assert.equal(first.choices[0].message.content, 'Use {{ name }} and {% if %} as written.');
    await rowOf(page, response.headers.get('x-request-id')).click();
    await page.locator('#save-fixture').click();
    await page.waitForFunction(() => document.getElementById('editor-state').textContent === 'Valid against fixture.schema.json');
    const yaml = await page.locator('#editor-yaml').inputValue();
    await page.locator('#editor-save').click();
    await page.locator('#editor').waitFor({ state: 'hidden' });
    const name = yaml.match(/^name: (\S+)/m)[1];
    await admin(MOCK, '/fixtures/braces/disable', { method: 'POST' });
    const { data: again, response: replayed } = await client.chat.completions.create(request).withResponse();
    assert.equal(replayed.headers.get('x-mock-matched'), name);
    assert.equal(again.choices[0].message.content, first.choices[0].message.content);
    await admin(MOCK, '/fixtures/braces/enable', { method: 'POST' });
  });

  test('the fixtures view: counts, never fired, enable/disable, scenario reset, edit, reload', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    await page.locator('#tab-fixtures').click();
    const row = (name) => page.locator(`#fixture-rows tr[data-name="${name}"]`);
    await row('never-used').waitFor();
    assert.match(await row('never-used').textContent(), /never fired/);

    // Counts follow traffic live.
    const before = Number(await row('scenario').locator('.count').textContent());
    await client.chat.completions.create(ask('next step'));
    await page.waitForFunction((n) => document.querySelector('#fixture-rows tr[data-name="scenario"] .count').textContent.startsWith(String(n)), before + 1);
    await client.chat.completions.create(ask('next step'));
    await page.waitForFunction(() => /step 2\/2/.test(document.querySelector('#fixture-rows tr[data-name="scenario"]').textContent));
    assert.doesNotMatch(await row('scenario').textContent(), /never fired/);

    // Scenario reset: back to its first step.
    await row('scenario').locator('button.reset').click();
    await page.waitForFunction(() => document.querySelector('#fixture-rows tr[data-name="scenario"] .count').textContent.startsWith('0'));
    assert.equal((await client.chat.completions.create(ask('next step'))).choices[0].message.content, 'step one');

    // Disable, enable.
    await row('greeting-zh').locator('input.enabled').uncheck();
    await page.waitForFunction(() => document.querySelector('#fixture-rows tr[data-name="greeting-zh"]').classList.contains('disabled'));
    const off = await client.chat.completions.create(ask('你好')).withResponse();
    assert.equal(off.response.headers.get('x-mock-matched'), null, 'a disabled fixture does not answer');
    await row('greeting-zh').locator('input.enabled').check();
    await page.waitForFunction(() => !document.querySelector('#fixture-rows tr[data-name="greeting-zh"]').classList.contains('disabled'));
    assert.equal((await client.chat.completions.create(ask('你好'))).choices[0].message.content, '你好！我是模拟服务器。');

    // Edit, with validation in the page.
    await row('greeting-zh').locator('button.edit').click();
    await page.locator('#editor').waitFor({ state: 'visible' });
    const yaml = await page.locator('#editor-yaml').inputValue();
    await page.locator('#editor-yaml').fill(yaml.replace('priority: 0', 'priority: high'));
    await page.waitForFunction(() => document.getElementById('editor-save').disabled);
    await page.locator('#editor-yaml').fill(yaml.replace('你好！我是模拟服务器。', '您好！内容已修改。'));
    await page.waitForFunction(() => !document.getElementById('editor-save').disabled);
    await page.locator('#editor-save').click();
    await page.locator('#editor').waitFor({ state: 'hidden' });
    assert.equal((await client.chat.completions.create(ask('你好'))).choices[0].message.content, '您好！内容已修改。');

    // Reload picks up a new file.
    await writeFile(`${FIXTURES_DIR}/added.yaml`, '- name: added-later\n  match: {last_user: added}\n  reply: {content: added reply}\n');
    await page.locator('#fixtures-reload').click();
    await row('added-later').waitFor();
    assert.match(await page.locator('#toast').textContent(), /Reloaded/);
    assert.equal((await client.chat.completions.create(ask('added'))).choices[0].message.content, 'added reply');
    await page.locator('#tab-requests').click();
  });

  test('Chinese content renders, with a CJK font', { timeout: TIMEOUT }, async (t) => {
    const { page, context } = dash;
    const { response } = await client.chat.completions.create(ask('你好')).withResponse();
    const id = response.headers.get('x-request-id');
    await rowOf(page, id).click();
    await page.locator('#reply-body').waitFor();
    assert.match(await rowOf(page, id).locator('.preview').textContent(), /^你好$/);
    const reply = page.locator('#reply-body .v-string', { hasText: '您好' });
    assert.equal(await reply.textContent(), '"您好！内容已修改。"');
    let families = '';
    try {
      families = execFileSync('fc-list', [':lang=zh', 'family'], { encoding: 'utf8' });
    } catch {
      families = '';
    }
    if (!families.trim()) {
      t.diagnostic('no CJK font installed (apt-get install fonts-noto-cjk): glyph check skipped');
      return;
    }
    // Which fonts chromium really drew the text with (no tofu boxes).
    const session = await context.newCDPSession(page);
    await session.send('DOM.enable');
    await session.send('CSS.enable');
    const { root } = await session.send('DOM.getDocument', { depth: -1 });
    const { nodeId } = await session.send('DOM.querySelector', { nodeId: root.nodeId, selector: `#request-list li.request[data-id="${id}"] .preview` });
    const { fonts } = await session.send('CSS.getPlatformFontsForNode', { nodeId });
    const cjk = fonts.filter((f) => /CJK|Hei|Han|Ming|Song|Kai/i.test(f.familyName));
    assert.ok(cjk.length && cjk.every((f) => f.glyphCount > 0), `fonts used: ${JSON.stringify(fonts)}`);
  });

  test('dark and light themes; the layout fits 1280x800', { timeout: TIMEOUT }, async () => {
    const { page } = dash;
    const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const first = await page.evaluate(() => document.documentElement.dataset.theme);
    const firstColor = await background();
    await page.locator('#theme').click();
    const second = await page.evaluate(() => document.documentElement.dataset.theme);
    assert.deepEqual([first, second].sort(), ['dark', 'light']);
    assert.notEqual(await background(), firstColor);
    for (const theme of ['dark', 'light']) {
      if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) await page.locator('#theme').click();
      const fits = await page.evaluate(() => ({
        width: document.documentElement.scrollWidth,
        list: document.getElementById('request-list').getBoundingClientRect().toJSON(),
        detail: document.getElementById('detail').getBoundingClientRect().toJSON(),
      }));
      assert.ok(fits.width <= VIEWPORT.width, `no sideways scrolling (${fits.width}px)`);
      assert.ok(fits.list.width >= 360 && fits.detail.width >= 600, JSON.stringify(fits));
      assert.ok(fits.detail.right <= VIEWPORT.width);
    }
    // Dark is the default when the system prefers it.
    const { page: darkPage, context } = await openDashboard(browser, MOCK, { colorScheme: 'dark' });
    await darkPage.waitForSelector('#live.on');
    assert.equal(await darkPage.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await context.close();
    assert.deepEqual(dash.problems, [], 'no console errors through all of the above');
  });

  test('with --admin-token the page asks for it, refuses a wrong one and keeps it in memory only', { timeout: TIMEOUT, skip: TOKEN_MOCK ? false : 'no DASHBOARD_TOKEN_URL' }, async () => {
    const tokenClient = sdk(TOKEN_MOCK);
    const { response } = await tokenClient.chat.completions.create(ask('before login')).withResponse();
    const earlier = response.headers.get('x-request-id');
    const { page, problems, context } = await openDashboard(browser, TOKEN_MOCK);
    await page.locator('#login').waitFor({ state: 'visible' });
    assert.equal(await page.locator('#requests-view').isHidden(), true, 'nothing shown before the token');
    assert.equal(await page.locator('#request-list li.request').count(), 0);

    await page.locator('#token').fill('not-the-token');
    await page.locator('#login-submit').click();
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    assert.match(await page.locator('#login-error').textContent(), /admin token/i);
    assert.equal(await page.locator('#requests-view').isHidden(), true);

    await page.locator('#token').fill(TOKEN);
    await page.locator('#login-submit').click();
    await rowOf(page, earlier).waitFor({ timeout: 5000 });
    await page.waitForSelector('#live.on');
    const { response: later } = await tokenClient.chat.completions.create(ask('after login')).withResponse();
    await rowOf(page, later.headers.get('x-request-id')).waitFor({ timeout: 1000 });

    const kept = await page.evaluate(() => ({
      local: JSON.stringify({ ...localStorage }),
      session: JSON.stringify({ ...sessionStorage }),
      cookies: document.cookie,
      url: location.href,
      dom: document.documentElement.outerHTML,
      input: document.getElementById('token').value,
    }));
    for (const [where, text] of Object.entries(kept)) assert.ok(!text.includes(TOKEN), `the token is not in ${where}`);
    assert.deepEqual((await context.cookies()).length, 0);
    // 401s from the wrong token are console errors by design of the browser; nothing else is.
    assert.deepEqual(problems.filter((p) => !/401/.test(p)), []);
    await context.close();
  });

  test('a page on another origin cannot read the journal or change fixtures', { timeout: TIMEOUT }, async () => {
    const server = createServer((request, response) => {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><title>elsewhere</title><p>another site</p>');
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const elsewhere = `http://127.0.0.1:${server.address().port}`;
      assert.notEqual(new URL(MOCK).origin, elsewhere);
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(elsewhere);
      const outcome = await page.evaluate(async (mock) => {
        const attempt = (url, init) => fetch(url, init).then(async (r) => `read ${r.status} ${await r.text()}`, (e) => `blocked ${e.name}`);
        const fixture = JSON.stringify({ name: 'planted', priority: 1000, reply: { content: 'planted' } });
        return {
          requests: await attempt(`${mock}/__admin/requests`),
          detail: await attempt(`${mock}/__admin/requests/unmatched`),
          events: await attempt(`${mock}/__admin/events`),
          withHeader: await attempt(`${mock}/__admin/requests`, { headers: { Authorization: 'Bearer x' } }),
          plant: await fetch(`${mock}/__admin/fixtures`, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: fixture }).then((r) => r.type, (e) => `blocked ${e.name}`),
          disable: await fetch(`${mock}/__admin/fixtures/greeting-zh/disable`, { method: 'POST', mode: 'no-cors' }).then((r) => r.type, (e) => `blocked ${e.name}`),
        };
      }, MOCK);
      assert.equal(outcome.requests, 'blocked TypeError');
      assert.equal(outcome.detail, 'blocked TypeError');
      assert.equal(outcome.events, 'blocked TypeError');
      assert.equal(outcome.withHeader, 'blocked TypeError');
      const fixtures = (await admin(MOCK, '/fixtures')).body.fixtures;
      assert.equal(fixtures.some((f) => f.name === 'planted'), false, `no-cors POST refused (${outcome.plant})`);
      assert.equal(fixtures.find((f) => f.name === 'greeting-zh').enabled, true, 'no-cors disable refused');
      await context.close();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
