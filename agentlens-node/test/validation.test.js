// Input that the collector would always reject, and numbers that used to wrap or panic:
// each one throws at the call, naming the value and its limit.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { Client } = require('..')
const { startCollector } = require('./helpers/collector')

let collector

test.before(async () => {
  collector = await startCollector()
})

test.after(async () => {
  await collector.stop()
})

function newClient(extra = {}) {
  return new Client({ url: collector.url, apiKey: collector.apiKey, flushIntervalMs: 50, ...extra })
}

const cost = { provider: 'openai', model: 'gpt-4o-mini', inputTokens: 10, outputTokens: 5 }
const LONG_ID = 'x'.repeat(257)

test('ids over 256 characters throw at the call', async () => {
  const client = newClient()
  const response = { model: 'gpt-4o-mini', usage: { prompt_tokens: 10, completion_tokens: 5 } }

  assert.throws(() => client.trackCost({ ...cost, sessionId: LONG_ID }), /sessionId: sessionId must be at most 256 characters, got 257/)
  assert.throws(() => client.trackCost({ ...cost, agentId: LONG_ID }), /agentId: agentId must be at most 256 characters, got 257/)
  assert.throws(() => client.trackResponse(response, { sessionId: LONG_ID }), /sessionId must be at most 256 characters/)
  assert.throws(() => client.trackResponse(response, { agentId: LONG_ID }), /agentId must be at most 256 characters/)
  assert.throws(() => newClient({ agentId: LONG_ID }), /invalid agent id: agentId must be at most 256 characters/)
  assert.equal(await client.close(1000), 0)
  assert.equal(client.stats().failed, 0)
})

test('session ids over 256 characters throw before the callback runs', async () => {
  const client = newClient()
  let calls = 0
  const callback = () => { calls += 1 }

  assert.throws(() => client.session({ sessionId: LONG_ID }, callback), /sessionId: sessionId must be at most 256 characters, got 257/)
  assert.throws(() => client.session({ agentId: LONG_ID }, callback), /agentId: agentId must be at most 256 characters, got 257/)
  assert.equal(calls, 0)
  assert.equal(await client.close(1000), 0)
  assert.equal(client.stats().failed, 0)
})

test('constructor rejects session ids that session() rejects', async () => {
  assert.throws(() => newClient({ sessionId: LONG_ID }), /invalid session id: sessionId must be at most 256 characters, got 257/)
  assert.throws(() => newClient({ sessionId: ' ' }), /invalid session id: sessionId must not be empty/)
  assert.throws(() => newClient({ sessionId: '' }), /invalid session id: sessionId must not be empty/)

  const longest = 'x'.repeat(256)
  const client = newClient({ sessionId: longest })
  assert.equal(client.sessionId, longest)
  assert.equal(await client.close(1000), 0)
})

test('events over the 1 MiB request limit throw at the call', async () => {
  const client = newClient()
  const text = 'x'.repeat(2 ** 20)

  assert.throws(() => client.logEvent({ eventType: 'custom', payload: { type: 'blob', data: { text } } }), /payload: the event is \d+ bytes as JSON, above the limit of 1048563 bytes per event/)
  assert.throws(() => client.trackCost({ ...cost, trigger: text }), /payload: the event is \d+ bytes/)
  assert.equal(await client.close(1000), 0)
  assert.equal(client.stats().failed, 0)
})

test('options out of range throw instead of wrapping', () => {
  const cases = [
    [{ flushIntervalMs: -1 }, /invalid flushIntervalMs -1: expected 0 to 2147483647/],
    [{ flushIntervalMs: 2 ** 32 }, /invalid flushIntervalMs/],
    [{ queueCapacity: 0 }, /invalid queueCapacity 0: expected a whole number from 1/],
    [{ queueCapacity: 2 ** 64 }, /invalid queueCapacity/],
    [{ batchSize: 5000 }, /invalid batchSize 5000: expected a whole number from 1 to 1000/],
    [{ batchSize: 1.5 }, /invalid batchSize 1.5/],
    [{ batchSize: Number.NaN }, /invalid batchSize NaN/],
  ]

  for (const [options, expected] of cases) {
    assert.throws(() => newClient(options), expected, JSON.stringify(options))
  }
  newClient({ queueCapacity: 2 ** 32, batchSize: 1000, flushIntervalMs: 0 }).close(0)
})

test('huge timeouts are shortened and invalid ones throw', async () => {
  const client = newClient()

  assert.equal(await client.flush(Number.MAX_VALUE), 0)
  assert.equal(await client.flush(1e300), 0)
  assert.throws(() => client.flush(Number.POSITIVE_INFINITY), /invalid timeout Infinity: expected a finite number/)
  assert.throws(() => client.flush(Number.NaN), /invalid timeout NaN/)
  assert.throws(() => client.close(-1), /invalid timeout -1/)
  assert.equal(await client.close(1e300), 0)
})

test('failed sends name the status and the collector message', async () => {
  const client = newClient({ apiKey: `als_${'0f'.repeat(32)}` })
  const warnings = []
  const originalWarn = console.warn
  console.warn = (message) => warnings.push(message)

  try {
    client.trackCost(cost)
    await client.flush(3000)
    client.trackCost(cost)
  } finally {
    console.warn = originalWarn
  }
  await client.close(1000)

  assert.equal(client.stats().lastFailure, 'status 401: Invalid or revoked API key')
  assert.ok(warnings.some((line) => line.includes('(status 401: Invalid or revoked API key)')), warnings.join('\n'))
})
