// Vercel AI SDK 5 (`ai` + `@ai-sdk/openai-compatible` 1.x) against the mock: the frontend path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { z } from 'zod';

import { API_KEY, apiBase, skipReason, TEST_TIMEOUT_MS } from './helpers.mjs';

const options = { skip: skipReason, timeout: TEST_TIMEOUT_MS };

const mock = createOpenAICompatible({
  name: 'mock',
  baseURL: apiBase,
  apiKey: API_KEY,
  // Sends stream_options.include_usage, so streams end with a usage chunk.
  includeUsage: true,
});

/** A tool that runs locally; the mock only generates schema-valid arguments for it. */
function weatherTools(calls) {
  return {
    get_weather: tool({
      description: 'Current weather for a city',
      inputSchema: z.object({
        city: z.string().describe('City name'),
        unit: z.enum(['celsius', 'fahrenheit']).describe('Temperature unit'),
      }),
      execute: async (input) => {
        calls.push(input);
        return { city: input.city, temperature: 21, unit: input.unit, sky: 'sunny' };
      },
    }),
  };
}

/** Every part of a fullStream, with error parts turned into a failure that names them. */
async function collectParts(result) {
  const parts = [];
  for await (const part of result.fullStream) parts.push(part);
  const errors = parts.filter((part) => part.type === 'error');
  assert.deepEqual(
    errors.map((part) => String(part.error?.stack ?? part.error)),
    [],
    'the stream produced error parts',
  );
  return parts;
}

function assertUsage(usage) {
  assert.ok(usage, 'usage is present');
  assert.equal(typeof usage.inputTokens, 'number', `inputTokens in ${JSON.stringify(usage)}`);
  assert.equal(typeof usage.outputTokens, 'number', `outputTokens in ${JSON.stringify(usage)}`);
  assert.ok(usage.inputTokens > 0 && usage.outputTokens > 0, JSON.stringify(usage));
  assert.equal(usage.totalTokens, usage.inputTokens + usage.outputTokens, JSON.stringify(usage));
}

describe('Vercel AI SDK 5 (@ai-sdk/openai-compatible)', () => {
  test('generateText: plain text, finishReason stop, usage', options, async () => {
    const result = await generateText({
      model: mock('gpt-4o'),
      prompt: 'Say hello in one sentence.',
      maxRetries: 0,
    });
    assert.ok(result.text.length > 0, 'non-empty text');
    assert.equal(result.finishReason, 'stop');
    assertUsage(result.usage);
    assert.equal(result.response.modelId, 'gpt-4o');
  });

  test('streamText: deltas concatenate to the text, finish reason, usage', options, async () => {
    const result = streamText({
      model: mock('gpt-4o'),
      prompt: 'Tell me a short joke.',
      maxRetries: 0,
    });
    const parts = await collectParts(result);
    const deltas = parts.filter((part) => part.type === 'text-delta').map((part) => part.text);
    assert.ok(deltas.length > 1, `several text deltas, got ${deltas.length}`);
    const text = await result.text;
    assert.equal(deltas.join(''), text);
    assert.ok(text.length > 0);
    assert.equal(await result.finishReason, 'stop');
    assertUsage(await result.usage);
    const finish = parts.find((part) => part.type === 'finish');
    assert.ok(finish, 'a finish part');
    assert.equal(finish.finishReason, 'stop');
    assertUsage(finish.totalUsage);

    // The same body without stream gets the same generated reply.
    const plain = await generateText({
      model: mock('gpt-4o'),
      prompt: 'Tell me a short joke.',
      maxRetries: 0,
    });
    assert.equal(plain.text, text);
  });

  test('generateText with tools: local execution, then the second step answers', options, async () => {
    const calls = [];
    const result = await generateText({
      model: mock('gpt-4o'),
      prompt: 'What is the weather in Paris?',
      tools: weatherTools(calls),
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    assert.equal(result.steps.length, 2, `two steps, got ${result.steps.map((s) => s.finishReason)}`);
    const [first, second] = result.steps;
    assert.equal(first.finishReason, 'tool-calls');
    assert.ok(first.toolCalls.length >= 1, 'the first step calls the tool');
    for (const call of first.toolCalls) {
      assert.equal(call.toolName, 'get_weather');
      assert.equal(typeof call.toolCallId, 'string');
      assert.equal(typeof call.input.city, 'string');
      assert.ok(['celsius', 'fahrenheit'].includes(call.input.unit), JSON.stringify(call.input));
      assert.ok(!call.invalid, `invalid tool call: ${JSON.stringify(call)}`);
    }
    assert.equal(calls.length, first.toolCalls.length, 'each call executed locally once');
    assert.equal(first.toolResults.length, first.toolCalls.length);
    assert.equal(second.finishReason, 'stop');
    assert.ok(second.text.length > 0, 'the second step answers in text');
    assert.equal(result.text, second.text);
    assert.equal(result.finishReason, 'stop');
    assertUsage(result.totalUsage);
  });

  test('streamText with tools: parseable tool input, no InvalidResponseDataError', options, async () => {
    const calls = [];
    const result = streamText({
      model: mock('gpt-4o'),
      prompt: 'What is the weather in Tokyo?',
      tools: weatherTools(calls),
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });
    const parts = await collectParts(result);

    const toolCalls = parts.filter((part) => part.type === 'tool-call');
    assert.ok(toolCalls.length >= 1, `tool-call parts, got types ${parts.map((p) => p.type)}`);
    const inputDeltas = new Map();
    for (const part of parts) {
      if (part.type === 'tool-input-start') inputDeltas.set(part.id, []);
      if (part.type === 'tool-input-delta') inputDeltas.get(part.id).push(part.delta);
    }
    for (const call of toolCalls) {
      assert.ok(!call.invalid, `invalid tool call: ${JSON.stringify(call)}`);
      assert.equal(call.toolName, 'get_weather');
      assert.equal(typeof call.input.city, 'string', JSON.stringify(call.input));
      const streamed = inputDeltas.get(call.toolCallId);
      assert.ok(streamed, `tool-input deltas for ${call.toolCallId}`);
      assert.deepEqual(JSON.parse(streamed.join('')), call.input, 'streamed input parses');
    }
    const toolResults = parts.filter((part) => part.type === 'tool-result');
    assert.equal(toolResults.length, toolCalls.length);
    assert.equal(calls.length, toolCalls.length);

    const steps = await result.steps;
    assert.equal(steps.length, 2);
    assert.equal(steps[0].finishReason, 'tool-calls');
    assert.equal(steps[1].finishReason, 'stop');
    const finalText = await result.text;
    assert.ok(finalText.length > 0, 'the second step streams text');
    assert.equal(await result.finishReason, 'stop');
    assertUsage(await result.totalUsage);
  });

  test('reasoning: a -thinking model gives reasoning parts (generateText)', options, async () => {
    const result = await generateText({
      model: mock('deepseek-chat-thinking'),
      prompt: 'Why is the sky blue?',
      maxRetries: 0,
    });
    assert.ok(result.reasoning.length > 0, 'reasoning parts');
    assert.ok(result.reasoning.every((part) => part.type === 'reasoning'));
    assert.ok(result.reasoningText && result.reasoningText.length > 0, 'reasoning text');
    assert.ok(result.text.length > 0, 'an answer after the reasoning');
    assert.ok(!result.text.includes(result.reasoningText), 'reasoning is not in the answer');
    assert.equal(result.finishReason, 'stop');
  });

  test('reasoning: a -thinking model streams reasoning before text (streamText)', options, async () => {
    const result = streamText({
      model: mock('deepseek-chat-thinking'),
      prompt: 'Why is the sky blue?',
      maxRetries: 0,
    });
    const parts = await collectParts(result);
    const types = parts.map((part) => part.type);
    const reasoning = parts.filter((part) => part.type === 'reasoning-delta');
    assert.ok(reasoning.length > 0, `reasoning-delta parts, got ${[...new Set(types)]}`);
    const lastReasoning = types.lastIndexOf('reasoning-delta');
    const firstText = types.indexOf('text-delta');
    assert.ok(firstText > lastReasoning, 'reasoning comes before the text');
    // @ai-sdk/openai-compatible 1.0.x emits reasoning-end only when the stream ends (flush),
    // so only the order of the deltas is a property of the mock's wire format.
    assert.ok(types.includes('reasoning-end'), 'reasoning is closed');
    assert.equal(reasoning.map((part) => part.text).join(''), await result.reasoningText);
    assert.ok((await result.text).length > 0);
    assert.equal(await result.finishReason, 'stop');
    assertUsage(await result.usage);
  });
});
