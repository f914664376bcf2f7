// The mockserver dashboard: a live view of the journal and the fixtures, over the admin API.
//
// Plain modules, no build step. Everything shown comes from request bodies a client sent, so text
// only ever enters the page through textContent (never innerHTML). The admin token, when the
// server wants one, lives in a variable of this module: never in storage, cookies or the URL.

import { dump as yamlDump, load as yamlLoad } from './vendor/js-yaml.mjs';
import { Validator } from './vendor/json-schema/index.js';

const ADMIN = '/__admin';
const KEEP = 2000; // entries kept in the page; the journal itself may hold more
const FIRST_LOAD = 500;

const state = {
  token: null,
  entries: new Map(), // id -> summary (as GET /__admin/requests lists it)
  order: [], // ids, newest first
  selected: null,
  view: 'requests',
  feedAbort: null,
  validator: null,
  editing: null, // {mode: 'add' | 'edit', name}
};

const $ = (id) => document.getElementById(id);

/** A DOM element; children are nodes or strings (always text, never markup). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    // Through the CSSOM: the page's CSP refuses style attributes.
    else if (key === 'style') for (const [name, v] of Object.entries(value)) node.style.setProperty(name, v);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function toast(message, kind = 'info') {
  const box = $('toast');
  box.textContent = message;
  box.className = `toast ${kind}`;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (box.hidden = true), 4000);
}

// --- the admin API ------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.error = error;
  }
}

function authHeaders(extra = {}) {
  return state.token ? { ...extra, Authorization: `Bearer ${state.token}` } : extra;
}

async function api(method, path, body, contentType = 'application/json') {
  const init = { method, headers: authHeaders(), cache: 'no-store' };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    init.headers['Content-Type'] = contentType;
  }
  const response = await fetch(`${ADMIN}${path}`, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    if (response.status === 401) showLogin(data?.error?.message);
    throw new ApiError(response.status, data?.error);
  }
  return data;
}

// --- login --------------------------------------------------------------------------------------

function showLogin(message) {
  stopFeed();
  $('login').hidden = false;
  $('requests-view').hidden = true;
  $('fixtures-view').hidden = true;
  $('login-error').textContent = state.token ? message || 'The admin token was refused.' : '';
  state.token = null;
  $('token').focus();
}

async function login(event) {
  event.preventDefault();
  const given = $('token').value.trim();
  if (!given) return;
  state.token = given;
  $('token').value = '';
  try {
    await start();
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) throw error;
  }
}

// --- requests: list -----------------------------------------------------------------------------

function lastUserText(body) {
  const messages = body && Array.isArray(body.messages) ? body.messages : [];
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const message = messages[i];
    if (message && message.role === 'user') {
      if (typeof message.content === 'string') return message.content;
      if (Array.isArray(message.content)) {
        return message.content
          .filter((part) => part && part.type === 'text')
          .map((part) => part.text)
          .join(' ');
      }
    }
  }
  return '';
}

function remember(entry, { live }) {
  if (state.entries.has(entry.id)) return false;
  entry._text = JSON.stringify(entry.body ?? '').toLowerCase();
  state.entries.set(entry.id, entry);
  if (live) state.order.unshift(entry.id);
  else state.order.push(entry.id);
  while (state.order.length > KEEP) state.entries.delete(state.order.pop());
  addOption('f-model', entry.model);
  addOption('f-fixture', entry.fixture);
  return true;
}

function addOption(selectId, value) {
  if (!value || typeof value !== 'string') return;
  const select = $(selectId);
  if ([...select.options].some((option) => option.value === value)) return;
  select.append(h('option', { value }, value));
}

function passes(entry) {
  const status = $('f-status').value;
  if (status === 'violations' && !(entry.violations && entry.violations.length)) return false;
  if (/^\d$/.test(status) && String(entry.status)[0] !== status) return false;
  const fixture = $('f-fixture').value;
  if (fixture === '@generated' && !entry.generated) return false;
  if (fixture === '@scripted' && !entry.fixture) return false;
  if (fixture && !fixture.startsWith('@') && entry.fixture !== fixture) return false;
  const model = $('f-model').value;
  if (model && entry.model !== model) return false;
  const stream = $('f-stream').value;
  if (stream && entry.stream !== (stream === 'yes')) return false;
  const text = $('f-text').value.trim().toLowerCase();
  if (text) {
    const haystack = `${entry.id} ${entry.fixture ?? ''} ${entry.model ?? ''} ${entry._text}`;
    if (!haystack.includes(text)) return false;
  }
  return true;
}

function badge(text, kind, title) {
  return h('span', { class: `badge ${kind}`, title }, text);
}

function statusKind(status) {
  if (status >= 500) return 'bad';
  if (status >= 400) return 'warn';
  return 'good';
}

function formatTime(at) {
  const date = new Date(at * 1000);
  return date.toLocaleTimeString([], { hour12: false }) + `.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

function row(entry) {
  const answer = entry.fixture
    ? badge(entry.fixture, 'fixture', 'answered by this fixture')
    : entry.generated
      ? badge('generated', 'generated', 'no fixture matched: a generated reply')
      : entry.upstream
        ? badge('upstream', 'upstream', `forwarded to ${entry.upstream.url}`)
        : null;
  const flags = [
    entry.stream ? badge('stream', 'stream', 'streamed (SSE)') : null,
    entry.violations?.length
      ? badge(`${entry.violations.length} violation${entry.violations.length > 1 ? 's' : ''}`, 'violation', 'rejected by the contract')
      : null,
    entry.fault ? badge('fault', 'fault', entry.fault) : null,
    entry.client_hung_up ? badge('hung up', 'fault', 'the client hung up before the end') : null,
  ];
  const preview = lastUserText(entry.body) || entry.error?.message || '';
  return h(
    'li',
    {
      class: `request${entry.id === state.selected ? ' selected' : ''}`,
      dataset: { id: entry.id },
      tabindex: 0,
      onclick: () => select(entry.id),
      onkeydown: (event) => event.key === 'Enter' && select(entry.id),
    },
    h(
      'div',
      { class: 'line' },
      badge(String(entry.status ?? '…'), `status ${statusKind(entry.status)}`),
      h('span', { class: 'model' }, entry.model ?? entry.path),
      answer,
      ...flags,
      h('span', { class: 'spacer' }),
      h('span', { class: 'muted time' }, formatTime(entry.at)),
    ),
    h(
      'div',
      { class: 'line sub' },
      h('span', { class: 'preview' }, preview.slice(0, 160)),
      h('span', { class: 'muted' }, entry.duration_ms == null ? '' : `${Math.round(entry.duration_ms)} ms`),
    ),
  );
}

function renderList() {
  const list = $('request-list');
  const shown = state.order.map((id) => state.entries.get(id)).filter(passes);
  list.replaceChildren(...shown.slice(0, 500).map(row));
  $('count').textContent = `${shown.length} of ${state.order.length}`;
  if (!shown.length) {
    list.append(h('li', { class: 'empty' }, state.order.length ? 'No request passes the filters.' : 'No request yet.'));
  }
}

function addLive(entry) {
  if (!remember(entry, { live: true })) return;
  if (!passes(entry)) {
    $('count').textContent = $('count').textContent.replace(/of \d+/, `of ${state.order.length}`);
    return;
  }
  const list = $('request-list');
  const empty = list.querySelector('.empty');
  if (empty) empty.remove();
  list.prepend(row(entry));
  while (list.children.length > 500) list.lastElementChild.remove();
  const shown = list.querySelectorAll('li.request').length;
  $('count').textContent = `${shown} of ${state.order.length}`;
}

async function loadRequests() {
  const data = await api('GET', `/requests?limit=${FIRST_LOAD}`);
  state.entries.clear();
  state.order = [];
  for (const entry of data.requests) remember(entry, { live: false });
  renderList();
}

// --- requests: detail ---------------------------------------------------------------------------

async function select(id) {
  state.selected = id;
  for (const item of document.querySelectorAll('#request-list li.request')) {
    item.classList.toggle('selected', item.dataset.id === id);
  }
  const detail = $('detail');
  try {
    const entry = await api('GET', `/requests/${encodeURIComponent(id)}`);
    if (state.selected !== id) return;
    detail.replaceChildren(...renderDetail(entry));
    detail.scrollTop = 0;
  } catch (error) {
    detail.replaceChildren(h('p', { class: 'error-text' }, `Could not load ${id}: ${error.message}`));
  }
}

function section(title, ...children) {
  return h('section', { class: 'block' }, h('h3', {}, title), ...children);
}

function renderDetail(entry) {
  const facts = [
    ['status', entry.status],
    ['model', entry.model ?? '—'],
    ['stream', entry.stream ? 'yes' : 'no'],
    ['duration', entry.duration_ms == null ? '—' : `${entry.duration_ms} ms`],
    ['first byte', entry.first_byte_ms == null ? '—' : `${entry.first_byte_ms} ms`],
    ['received', new Date(entry.at * 1000).toLocaleString()],
  ];
  const head = h(
    'div',
    { class: 'detail-head' },
    h('div', { class: 'title' }, h('code', { id: 'detail-id' }, entry.id), h('span', { class: 'muted' }, `${entry.method} ${entry.path}`)),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', id: 'copy-curl', onclick: () => showCurl(entry) }, 'Copy as curl'),
      h('button', { type: 'button', id: 'save-fixture', onclick: () => saveAsFixture(entry), disabled: !isSavable(entry) }, 'Save as fixture'),
    ),
    h('dl', { class: 'facts' }, facts.map(([key, value]) => [h('dt', {}, key), h('dd', {}, String(value))])),
  );
  return [
    head,
    renderAnswer(entry),
    entry.warnings?.length ? section('Warnings', h('ul', { class: 'warnings' }, entry.warnings.map((w) => h('li', {}, w)))) : null,
    section('Request body', renderViolationList(entry), h('div', { class: 'code json', id: 'request-body' }, jsonLines(entry.body, entry.violations || []))),
    entry.stream && entry.frames ? renderTimeline(entry) : renderReply(entry),
    section('Headers', renderHeaders(entry.headers)),
  ].filter(Boolean);
}

function fixtureLink(name) {
  return h('a', { href: '#', class: 'fixture-link', onclick: (event) => { event.preventDefault(); showFixture(name); } }, name);
}

function renderAnswer(entry) {
  const parts = [];
  if (entry.fixture) {
    parts.push(h('p', { id: 'answered-by' }, 'Answered by fixture ', fixtureLink(entry.fixture)));
  } else if (entry.generated) {
    parts.push(h('p', { id: 'answered-by' }, 'No fixture matched: the reply was generated from the schema.'));
  } else if (entry.upstream) {
    const gateway = entry.upstream;
    const what = gateway.error
      ? `which failed: ${gateway.error}`
      : `which answered ${gateway.status} (first byte after ${Math.round(gateway.first_byte_ms ?? 0)} ms)`;
    parts.push(h('p', { id: 'answered-by' }, `Forwarded to the gateway ${gateway.url}, ${what}.`));
  } else if (entry.error?.code === 'fixture_not_matched') {
    parts.push(h('p', { id: 'answered-by' }, 'No fixture matched, and --strict-fixtures turns that into an error.'));
  } else if (entry.violations?.length) {
    parts.push(h('p', { id: 'answered-by' }, 'Rejected by the contract before any fixture was consulted.'));
  } else if (entry.error) {
    parts.push(h('p', { id: 'answered-by' }, 'Answered with an error.'));
  }
  if (entry.near_misses?.length) {
    parts.push(
      h('p', { class: 'muted' }, 'Closest fixtures and the conditions that failed:'),
      h(
        'ul',
        { class: 'near-misses', id: 'near-misses' },
        entry.near_misses.map((miss) =>
          h(
            'li',
            {},
            fixtureLink(miss.fixture),
            h('span', { class: 'muted' }, ` (${miss.source})`),
            h('ul', {}, miss.failed.map((condition) => h('li', { class: 'failed' }, condition))),
          ),
        ),
      ),
    );
  }
  if (entry.fault) parts.push(h('p', { id: 'fault' }, badge('fault', 'fault'), ' ', entry.fault));
  if (entry.client_hung_up) parts.push(h('p', {}, badge('hung up', 'fault'), ' The client hung up before the reply ended.'));
  if (entry.error) parts.push(h('p', { class: 'error-text' }, `${entry.error.type ?? 'error'}: ${entry.error.message}`));
  return parts.length ? section('Answer', ...parts) : null;
}

function renderViolationList(entry) {
  if (!entry.violations?.length) return null;
  return h(
    'ol',
    { class: 'violations', id: 'violations' },
    entry.violations.map((v) => h('li', {}, h('code', {}, v.param ?? '(body)'), ' ', v.message)),
  );
}

// The body as indented JSON lines; each value line knows its OpenAI-style path (messages[0].content),
// so a violation is shown on the line it is about, or on its nearest parent when it names a
// missing key.
function jsonLines(value, violations) {
  const lines = [];
  const byPath = new Map();
  for (const violation of violations) {
    const key = violation.param ?? '';
    if (!byPath.has(key)) byPath.set(key, []);
    byPath.get(key).push(violation);
  }
  const paths = new Set();
  const child = (path, key) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

  function emit(node, path, depth, label, last) {
    paths.add(path);
    const comma = last ? '' : ',';
    const prefix = label === null ? [] : [h('span', { class: 'key' }, JSON.stringify(label)), ': '];
    const line = (...content) => {
      const element = h('div', { class: 'jl', dataset: { path }, style: { '--depth': depth } }, ...prefix, ...content);
      lines.push(element);
      return element;
    };
    if (Array.isArray(node) || (node && typeof node === 'object')) {
      const isArray = Array.isArray(node);
      const keys = isArray ? node.map((_, i) => i) : Object.keys(node);
      if (!keys.length) {
        line(h('span', { class: 'punct' }, isArray ? `[]${comma}` : `{}${comma}`));
        return;
      }
      line(h('span', { class: 'punct' }, isArray ? '[' : '{'));
      keys.forEach((key, index) => emit(node[key], child(path, key), depth + 1, isArray ? null : key, index === keys.length - 1));
      lines.push(h('div', { class: 'jl', style: { '--depth': depth } }, h('span', { class: 'punct' }, (isArray ? ']' : '}') + comma)));
      return;
    }
    const kind = node === null ? 'null' : typeof node;
    line(h('span', { class: `v-${kind}` }, JSON.stringify(node)), comma);
  }

  emit(value, '', 0, null, true);
  const fragment = document.createDocumentFragment();
  fragment.append(...lines);
  const parent = (path) => path.match(/^(.*?)(\.[^.[\]]+|\[\d+\])$/)?.[1] ?? '';
  for (const [param, found] of byPath) {
    let at = param;
    while (at && !paths.has(at)) at = parent(at);
    const target = lines.find((line) => line.dataset.path === at) ?? lines[0];
    if (!target) continue;
    target.classList.add('violation');
    target.dataset.violation = param;
    const notes = found.map((violation) =>
      h('div', { class: 'jl note', style: { '--depth': target.style.getPropertyValue('--depth') }, dataset: { param } }, `\u2191 ${at === param ? '' : `${param}: `}${violation.message}`),
    );
    target.after(...notes);
  }
  return fragment;
}

function renderReply(entry) {
  if (entry.response === null || entry.response === undefined) {
    return entry.status >= 400 ? null : section('Reply', h('p', { class: 'muted' }, 'No body was recorded.'));
  }
  return section('Reply', h('div', { class: 'code json', id: 'reply-body' }, jsonLines(entry.response, [])));
}

function frameSummary(data) {
  if (data.trim() === 'data: [DONE]') return '[DONE]';
  const payload = data.replace(/^data: /, '').trim();
  try {
    const chunk = JSON.parse(payload);
    const choice = chunk.choices?.[0];
    const delta = choice?.delta ?? {};
    const bits = [];
    if (delta.role) bits.push(`role=${delta.role}`);
    if (delta.content) bits.push(JSON.stringify(delta.content));
    if (delta.reasoning_content) bits.push(`reasoning ${JSON.stringify(delta.reasoning_content)}`);
    if (delta.tool_calls) bits.push(`tool_calls ${JSON.stringify(delta.tool_calls)}`);
    if (choice?.finish_reason) bits.push(`finish_reason=${choice.finish_reason}`);
    if (chunk.usage) bits.push(`usage ${JSON.stringify(chunk.usage)}`);
    if (chunk.error) bits.push(`error ${JSON.stringify(chunk.error)}`);
    return bits.join(' ') || payload;
  } catch {
    return data.trim();
  }
}

function renderTimeline(entry) {
  const frames = entry.frames;
  const end = Math.max(entry.duration_ms ?? 0, ...frames.map((f) => f.at_ms), 1);
  const items = frames.map((frame, index) =>
    h(
      'li',
      { class: `frame${frame.fault ? ' faulted' : ''}`, dataset: { index } },
      h('span', { class: 'at' }, `${frame.at_ms.toFixed(1)} ms`),
      h('span', { class: 'bar' }, h('span', { class: 'tick', style: { '--x': `${(frame.at_ms / end) * 100}%` } })),
      h('span', { class: 'data', title: frame.data }, frameSummary(frame.data)),
      frame.fault ? badge(frame.fault, 'fault') : null,
    ),
  );
  if (entry.client_hung_up) {
    items.push(
      h(
        'li',
        { class: 'frame hangup', id: 'hangup' },
        h('span', { class: 'at' }, `${(entry.duration_ms ?? end).toFixed(1)} ms`),
        h('span', { class: 'bar' }, h('span', { class: 'tick', style: { '--x': '100%' } })),
        h('span', { class: 'data' }, 'client hung up'),
      ),
    );
  }
  const dropped = entry.frame_count - frames.length;
  return section(
    `Stream: ${entry.frame_count} frame${entry.frame_count === 1 ? '' : 's'}`,
    h('ol', { class: 'timeline', id: 'timeline' }, items),
    dropped > 0 ? h('p', { class: 'muted' }, `${dropped} more frames were sent but not kept.`) : null,
    h('details', {}, h('summary', {}, 'Raw frames'), h('pre', { class: 'code' }, frames.map((f) => f.data).join(''))),
  );
}

function renderHeaders(headers) {
  return h(
    'table',
    { class: 'headers' },
    h('tbody', {}, Object.entries(headers || {}).map(([name, value]) => h('tr', {}, h('th', {}, name), h('td', {}, value)))),
  );
}

// --- copy as curl -------------------------------------------------------------------------------

const shellQuote = (text) => `'${String(text).replace(/'/g, `'\\''`)}'`;
const SKIPPED_HEADERS = new Set(['host', 'content-length', 'authorization', 'connection', 'accept-encoding', 'origin', 'referer', 'cookie', 'api-key', 'x-api-key']);

function curlCommand(entry) {
  const url = `${location.origin}${entry.path}`;
  const parts = [`curl ${shellQuote(url)}`];
  if (entry.method !== 'GET' && entry.method !== 'POST') parts.push(`-X ${entry.method}`);
  parts.push(`-H "Authorization: Bearer $OPENAI_API_KEY"`);
  for (const [name, value] of Object.entries(entry.headers || {})) {
    const lower = name.toLowerCase();
    if (SKIPPED_HEADERS.has(lower) || lower.startsWith('sec-') || lower.startsWith('x-stainless')) continue;
    parts.push(`-H ${shellQuote(`${name}: ${value}`)}`);
  }
  if (entry.body !== null && entry.body !== undefined) {
    const body = typeof entry.body === 'string' ? entry.body : JSON.stringify(entry.body);
    parts.push(`--data-raw ${shellQuote(body)}`);
  }
  if (entry.stream) parts.push('--no-buffer');
  return parts.join(' \\\n  ');
}

async function showCurl(entry) {
  const text = curlCommand(entry);
  $('curl-text').value = text;
  $('curl-state').textContent = '';
  $('curl').showModal();
  await copy(text);
}

async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    $('curl-state').textContent = 'Copied to the clipboard.';
  } catch {
    $('curl-text').select();
    $('curl-state').textContent = 'Select and copy it (the clipboard is not available here).';
  }
}

// --- save as fixture ----------------------------------------------------------------------------

function isSavable(entry) {
  return entry.body && typeof entry.body === 'object' && !entry.violations?.length && entry.status !== null;
}

/** What the client received, as a fixture reply: the message of a JSON reply, the deltas of a
 * stream put back together, or the error. */
function replyOf(entry) {
  if (entry.status >= 400 && entry.error) {
    const error = { status: entry.status, message: entry.error.message };
    if (entry.error.type) error.type = entry.error.type;
    if (entry.error.code !== undefined) error.code = entry.error.code;
    if (entry.error.param !== undefined) error.param = entry.error.param;
    return { error };
  }
  let message = null;
  let finish = null;
  if (entry.stream && entry.frames) {
    message = { content: '', tool_calls: [] };
    for (const frame of entry.frames) {
      const payload = frame.data.replace(/^data: /, '').trim();
      if (!payload.startsWith('{')) continue;
      let chunk;
      try {
        chunk = JSON.parse(payload);
      } catch {
        continue;
      }
      const choice = chunk.choices?.find((c) => (c.index ?? 0) === 0);
      if (!choice) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') message.content += delta.content;
      for (const call of delta.tool_calls ?? []) {
        const slot = (message.tool_calls[call.index ?? 0] ??= { id: '', name: '', arguments: '' });
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name += call.function.name;
        if (call.function?.arguments) slot.arguments += call.function.arguments;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  } else if (entry.response && Array.isArray(entry.response.choices)) {
    const choice = entry.response.choices[0] ?? {};
    const sent = choice.message ?? {};
    finish = choice.finish_reason ?? null;
    message = {
      content: sent.content ?? '',
      tool_calls: (sent.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function?.name, arguments: call.function?.arguments })),
    };
  }
  if (!message) return { content: '' };
  const reply = {};
  const calls = message.tool_calls.filter((call) => call && call.name);
  if (message.content || !calls.length) reply.content = literal(message.content);
  if (calls.length) {
    reply.tool_calls = calls.map((call) => {
      const out = { name: call.name };
      if (call.id && call.id.startsWith('call_')) out.id = call.id;
      if (call.arguments) out.arguments = literal(call.arguments);
      return out;
    });
  }
  if (finish && finish !== 'stop' && !(finish === 'tool_calls' && calls.length)) reply.finish_reason = finish;
  return reply;
}

/** Fixture strings holding `{{` or `{%` are Jinja templates: what was sent is kept literal. */
function literal(text) {
  return typeof text === 'string' && /\{\{|\{%/.test(text) ? `{% raw %}${text}{% endraw %}` : text;
}

function fixtureFor(entry) {
  const match = {};
  if (typeof entry.body.model === 'string') match.model = entry.body.model;
  const messages = Array.isArray(entry.body.messages) ? entry.body.messages : [];
  const lastUser = [...messages].reverse().find((m) => m && m.role === 'user');
  if (lastUser && typeof lastUser.content === 'string') match.last_user = lastUser.content;
  const name = `saved-${entry.id.replace(/^req_/, '').slice(0, 8)}`;
  const fixture = { name, description: `Saved from request ${entry.id} in the dashboard.` };
  if (Object.keys(match).length) fixture.match = match;
  fixture.reply = replyOf(entry);
  return fixture;
}

function saveAsFixture(entry) {
  openEditor({ mode: 'add', title: 'Save as fixture', hint: 'Check the match and the reply, then save: the fixture is added through the admin API and answers from now on.', value: fixtureFor(entry) });
}

// --- the fixture editor -------------------------------------------------------------------------

async function fixtureValidator() {
  if (!state.validator) {
    const response = await fetch('/__admin/ui/fixture.schema.json');
    const schema = await response.json();
    // One fixture at a time: its own definition, with the file's definitions for its $refs.
    const single = { ...schema.definitions.Fixture, definitions: schema.definitions };
    state.validator = new Validator(single, '7', false);
  }
  return state.validator;
}

const WRAPPERS = new Set(['properties', '$ref', 'allOf', 'items', 'additionalItems', 'definitions']);

/** Problems in the YAML text: a parse error with its line, or schema errors at their paths. */
async function problemsOf(text) {
  let value;
  try {
    value = yamlLoad(text);
  } catch (error) {
    return { value: null, problems: [{ path: `line ${(error.mark?.line ?? 0) + 1}`, message: error.reason || error.message }] };
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    return { value, problems: [{ path: '/', message: 'A fixture is a mapping with at least a name.' }] };
  }
  const result = (await fixtureValidator()).validate(value);
  if (result.valid) return { value, problems: [] };
  const specific = result.errors.filter((e) => !WRAPPERS.has(e.keyword));
  const shown = (specific.length ? specific : result.errors).slice(0, 12);
  return {
    value,
    problems: shown.map((e) => ({ path: e.instanceLocation.replace(/^#/, '') || '/', message: e.error })),
  };
}

function openEditor({ mode, title, hint, value, name }) {
  state.editing = { mode, name };
  $('editor-title').textContent = title;
  $('editor-hint').textContent = hint;
  $('editor-yaml').value = typeof value === 'string' ? value : yamlDump(value, { lineWidth: 100, noRefs: true });
  $('editor').showModal();
  $('editor-yaml').setSelectionRange(0, 0);
  $('editor-yaml').scrollTop = 0;
  checkEditor();
}

async function checkEditor() {
  const { problems } = await problemsOf($('editor-yaml').value);
  const list = $('editor-problems');
  list.replaceChildren(...problems.map((p) => h('li', {}, h('code', {}, p.path), ' ', p.message)));
  $('editor-state').textContent = problems.length ? `${problems.length} problem${problems.length > 1 ? 's' : ''} against fixture.schema.json` : 'Valid against fixture.schema.json';
  $('editor-state').className = problems.length ? 'error-text' : 'ok-text';
  $('editor-save').disabled = problems.length > 0;
  return problems;
}

async function saveEditor() {
  const problems = await checkEditor();
  if (problems.length) return;
  const text = $('editor-yaml').value;
  const { mode, name } = state.editing;
  try {
    if (mode === 'add') {
      const result = await api('POST', '/fixtures', text, 'application/yaml');
      toast(`Fixture ${result.added.join(', ')} added.`, 'ok');
    } else {
      await api('PUT', `/fixtures/${encodeURIComponent(name)}`, text, 'application/yaml');
      toast(`Fixture ${name} saved.`, 'ok');
    }
    $('editor').close();
    if (state.view === 'fixtures') await loadFixtures();
  } catch (error) {
    $('editor-problems').replaceChildren(h('li', { class: 'server' }, `The server refused it: ${error.message}`));
    $('editor-state').textContent = 'Not saved';
    $('editor-state').className = 'error-text';
  }
}

// --- fixtures -----------------------------------------------------------------------------------

function matchSummary(spec) {
  const match = spec.match;
  if (!match || !Object.keys(match).length) return 'every request';
  return Object.entries(match)
    .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' · ');
}

function fixtureRow(item) {
  const never = item.calls === 0;
  const scenario = item.steps ? ` · step ${Math.min(item.calls, item.steps)}/${item.steps}` : '';
  const times = item.times ? ` of ${item.times}` : '';
  const act = (label, handler, extra = {}) => h('button', { type: 'button', class: 'small ghost', onclick: handler, ...extra }, label);
  return h(
    'tr',
    { dataset: { name: item.name }, class: `${item.enabled ? '' : 'disabled'}${never ? ' never' : ''}` },
    h('td', {}, h('strong', {}, item.name), item.fixture.description ? h('div', { class: 'muted small' }, item.fixture.description) : null),
    h('td', { class: 'match' }, matchSummary(item.fixture)),
    h('td', { class: 'calls' }, h('span', { class: 'count' }, `${item.calls}${times}`), scenario, never ? [' ', badge('never fired', 'never', 'no request has used this fixture since it was loaded or reset')] : null),
    h('td', { class: 'muted small' }, item.source),
    h('td', {}, h('input', { type: 'checkbox', class: 'enabled', checked: item.enabled, 'aria-label': `enable ${item.name}`, onchange: (event) => setEnabled(item.name, event.target.checked) })),
    h(
      'td',
      { class: 'actions' },
      act('Reset', () => resetFixture(item.name), { class: 'small ghost reset', title: 'Restart its scenario and counters' }),
      act('Edit', () => openEditor({ mode: 'edit', name: item.name, title: `Edit ${item.name}`, hint: 'Replaces the fixture in the running server (the file on disk is not changed).', value: item.fixture }), { class: 'small ghost edit' }),
    ),
  );
}

async function loadFixtures() {
  const data = await api('GET', '/fixtures');
  $('fixture-rows').replaceChildren(...data.fixtures.map(fixtureRow));
  const never = data.fixtures.filter((f) => f.calls === 0).length;
  $('fixtures-count').textContent = `${data.fixtures.length} fixtures, ${never} never fired`;
  if (!data.fixtures.length) $('fixture-rows').append(h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No fixtures: every reply is generated.')));
}

/** POST an action, say how it went (`done` words the answer), and show the fixtures as they are now. */
async function fixtureAction(path, done) {
  try {
    toast(done(await api('POST', path)), 'ok');
  } catch (error) {
    toast(error.message, 'bad');
  }
  await loadFixtures();
}

function setEnabled(name, enabled) {
  const action = enabled ? 'enable' : 'disable';
  return fixtureAction(`/fixtures/${encodeURIComponent(name)}/${action}`, () => `${name} ${action}d.`);
}

function resetFixture(name) {
  return fixtureAction(`/fixtures/${encodeURIComponent(name)}/reset`, () => `${name}: scenario and counters restarted.`);
}

function reloadFixtures() {
  return fixtureAction('/reload', (result) => `Reloaded ${result.reloaded} fixtures from files.`);
}

async function showFixture(name) {
  await showView('fixtures');
  const target = [...document.querySelectorAll('#fixture-rows tr')].find((tr) => tr.dataset.name === name);
  if (target) {
    target.classList.add('flash');
    target.scrollIntoView({ block: 'center' });
    setTimeout(() => target.classList.remove('flash'), 1500);
  } else {
    toast(`No fixture named ${name} now.`, 'bad');
  }
}

// --- the live feed ------------------------------------------------------------------------------

function setLive(text, on) {
  const live = $('live');
  live.textContent = text;
  live.className = `live ${on ? 'on' : 'off'}`;
}

function stopFeed() {
  state.feedAbort?.abort();
  state.feedAbort = null;
}

let fixturesRefresh = null;
function refreshFixturesSoon() {
  if (state.view !== 'fixtures' || fixturesRefresh) return;
  fixturesRefresh = setTimeout(() => {
    fixturesRefresh = null;
    loadFixtures().catch(() => {});
  }, 250);
}

function onFeedEvent(name, data) {
  if (name === 'request') {
    addLive(JSON.parse(data));
    refreshFixturesSoon();
  } else if (name === 'cleared') {
    state.entries.clear();
    state.order = [];
    renderList();
  } else if (name === 'fixtures') {
    refreshFixturesSoon();
  } else if (name === 'overflow') {
    loadRequests().catch(() => {});
  }
}

// fetch() with a streamed body, not EventSource: EventSource cannot send the Authorization header.
async function runFeed() {
  stopFeed();
  const controller = new AbortController();
  state.feedAbort = controller;
  let delay = 500;
  while (!controller.signal.aborted) {
    try {
      const response = await fetch(`${ADMIN}/events`, { headers: authHeaders({ Accept: 'text/event-stream' }), signal: controller.signal, cache: 'no-store' });
      if (response.status === 401) {
        showLogin('The admin token was refused.');
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      setLive('live', true);
      delay = 500;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message';
          const data = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (data.length) onFeedEvent(name, data.join('\n'));
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    setLive('reconnecting', false);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 5000);
    if (!controller.signal.aborted) await loadRequests().catch(() => {});
  }
}

// --- views and start-up -------------------------------------------------------------------------

async function showView(view) {
  state.view = view;
  $('requests-view').hidden = view !== 'requests';
  $('fixtures-view').hidden = view !== 'fixtures';
  $('tab-requests').setAttribute('aria-selected', String(view === 'requests'));
  $('tab-fixtures').setAttribute('aria-selected', String(view === 'fixtures'));
  if (view === 'fixtures') await loadFixtures();
}

async function start() {
  await loadRequests(); // asks for the token (401) before anything else is shown
  $('login').hidden = true;
  $('login-error').textContent = '';
  await showView(state.view);
  runFeed();
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  $('theme').textContent = theme === 'dark' ? 'Light' : 'Dark';
  $('theme').title = `Switch to the ${theme === 'dark' ? 'light' : 'dark'} theme`;
  try {
    localStorage.setItem('mockserver-theme', theme); // a preference, not a secret
  } catch {
    /* storage may be off */
  }
}

function init() {
  let theme = null;
  try {
    theme = localStorage.getItem('mockserver-theme');
  } catch {
    theme = null;
  }
  applyTheme(theme || (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'));
  $('theme').addEventListener('click', () => applyTheme(document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark'));
  $('login-form').addEventListener('submit', login);
  $('tab-requests').addEventListener('click', () => showView('requests'));
  $('tab-fixtures').addEventListener('click', () => showView('fixtures'));
  for (const id of ['f-status', 'f-fixture', 'f-model', 'f-stream']) $(id).addEventListener('change', renderList);
  $('f-text').addEventListener('input', renderList);
  $('clear-journal').addEventListener('click', async () => {
    try {
      await api('DELETE', '/requests');
      $('detail').replaceChildren(h('p', { class: 'empty' }, 'The journal was cleared.'));
    } catch (error) {
      toast(error.message, 'bad');
    }
  });
  $('fixtures-reload').addEventListener('click', reloadFixtures);
  $('fixture-new').addEventListener('click', () =>
    openEditor({ mode: 'add', title: 'New fixture', hint: 'Added through the admin API; it answers from now on.', value: { name: 'my-fixture', match: { last_user: 'hello' }, reply: { content: 'Hi!' } } }),
  );
  let timer = null;
  $('editor-yaml').addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(checkEditor, 150);
  });
  $('editor-save').addEventListener('click', saveEditor);
  $('editor-cancel').addEventListener('click', () => $('editor').close());
  $('curl-close').addEventListener('click', () => $('curl').close());
  $('curl-copy').addEventListener('click', () => copy($('curl-text').value));
  fetch(`${ADMIN}/health`)
    .then((r) => r.json())
    .then((health) => ($('version').textContent = health.version))
    .catch(() => {});
  start().catch((error) => {
    if (!(error instanceof ApiError && error.status === 401)) {
      setLive('offline', false);
      toast(`Could not reach the admin API: ${error.message}`, 'bad');
    }
  });
}

init();
