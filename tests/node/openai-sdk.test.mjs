// openai-node (the `openai` npm package) against the mock: raw streams, the stream helper, request ids.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import OpenAI from 'openai';

import { API_KEY, apiBase, skipReason, TEST_TIMEOUT_MS } from './helpers.mjs';

const options = { skip: skipReason, timeout: TEST_TIMEOUT_MS };

const client = new OpenAI({ baseURL: apiBase, apiKey: API_KEY, maxRetries: 0 });

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string' },
          unit: { type: 'string', enum: ['celsius', 'fahrenheit'] },
        },
        required: ['city', 'unit'],
        additionalProperties: false,
      },
    },
  },
];

function assertWeatherArguments(text) {
  const args = JSON.parse(text);
  assert.equal(typeof args.city, 'string', text);
  assert.ok(['celsius', 'fahrenheit'].includes(args.unit), text);
}

describe('openai-node', () => {
  test('create({stream: true, tools}): deltas rebuild the tool call', options, async () => {
    const stream = await client.chat.completions.create({
      model: 'gpt-4o',
      stream: true,
      stream_options: { include_usage: true },
      tool_choice: 'auto',
      tools,
      messages: [{ role: 'user', content: 'What is the weather in Paris?' }],
    });
    const calls = [];
    const finishReasons = [];
    const ids = new Set();
    let usage = null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks += 1;
      assert.equal(chunk.object, 'chat.completion.chunk');
      ids.add(chunk.id);
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices) {
        if (choice.finish_reason) finishReasons.push(choice.finish_reason);
        for (const delta of choice.delta.tool_calls ?? []) {
          if (calls[delta.index] === undefined) {
            // The first delta of a call carries everything but the rest of the arguments.
            assert.equal(typeof delta.id, 'string', `id on the first delta: ${JSON.stringify(delta)}`);
            assert.equal(delta.type, 'function');
            assert.equal(typeof delta.function?.name, 'string');
            calls[delta.index] = { id: delta.id, name: delta.function.name, arguments: '' };
          } else {
            assert.equal(delta.id, undefined, `id repeated: ${JSON.stringify(delta)}`);
            assert.equal(delta.function?.name, undefined, `name repeated: ${JSON.stringify(delta)}`);
          }
          calls[delta.index].arguments += delta.function?.arguments ?? '';
        }
      }
    }
    assert.ok(chunks > 2, `several chunks, got ${chunks}`);
    assert.equal(ids.size, 1, 'one id on every chunk');
    assert.ok(calls.length >= 1, 'at least one tool call');
    for (const call of calls) {
      assert.match(call.id, /^call_/);
      assert.equal(call.name, 'get_weather');
      assertWeatherArguments(call.arguments);
    }
    assert.deepEqual(finishReasons, ['tool_calls']);
    assert.ok(usage && usage.total_tokens === usage.prompt_tokens + usage.completion_tokens);
  });

  test('chat.completions.stream(): finalChatCompletion for text', options, async () => {
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'Tell me a short story.' }],
    });
    let streamed = '';
    stream.on('content', (delta) => {
      streamed += delta;
    });
    const completion = await stream.finalChatCompletion();
    const [choice] = completion.choices;
    assert.equal(choice.finish_reason, 'stop');
    assert.equal(choice.message.role, 'assistant');
    assert.ok(choice.message.content.length > 0);
    assert.equal(streamed, choice.message.content);
    assert.equal(completion.model, 'gpt-4o');
    assert.ok(completion.usage && completion.usage.total_tokens > 0, 'usage from the last chunk');
  });

  test('chat.completions.stream(): finalChatCompletion for tool calls', options, async () => {
    const stream = client.chat.completions.stream({
      model: 'gpt-4o',
      tools,
      messages: [{ role: 'user', content: 'What is the weather in Rome?' }],
    });
    const done = [];
    stream.on('tool_calls.function.arguments.done', (event) => done.push(event));
    const completion = await stream.finalChatCompletion();
    const [choice] = completion.choices;
    assert.equal(choice.finish_reason, 'tool_calls');
    assert.ok(choice.message.tool_calls.length >= 1);
    for (const call of choice.message.tool_calls) {
      assert.equal(call.type, 'function');
      assert.match(call.id, /^call_/);
      assert.equal(call.function.name, 'get_weather');
      assertWeatherArguments(call.function.arguments);
    }
    assert.equal(done.length, choice.message.tool_calls.length, 'arguments.done per call');
    assert.equal(done[0].arguments, choice.message.tool_calls[0].function.arguments);
  });

  test('non-stream create(): _request_id from x-request-id', options, async () => {
    const completion = await client.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Say hello.' }],
    });
    assert.equal(typeof completion, 'object', 'parsed as JSON, not a raw string');
    assert.equal(completion.object, 'chat.completion');
    assert.equal(typeof completion._request_id, 'string');
    assert.ok(completion._request_id.length > 0, 'non-empty request id');
    assert.equal(completion.choices[0].finish_reason, 'stop');
    assert.ok(completion.choices[0].message.content.length > 0);

    const { data, response, request_id } = await client.chat.completions
      .create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'Say hello.' }] })
      .withResponse();
    assert.equal(request_id, response.headers.get('x-request-id'));
    assert.equal(data._request_id, request_id);
  });

  test('errors: a bad request becomes BadRequestError with the mock message', options, async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4o', messages: [] }),
      (error) => {
        assert.ok(error instanceof OpenAI.BadRequestError, `${error?.constructor?.name}: ${error}`);
        assert.equal(error.status, 400);
        assert.ok(!/no body/.test(error.message), error.message);
        assert.equal(typeof error.requestID, 'string');
        return true;
      },
    );
  });
});
