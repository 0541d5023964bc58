// Input that the collector would always reject throws at the call, naming the value and
// its limit, and a failed send reports the collector's status and message.
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

test('events over the 1 MiB request limit throw at the call', async () => {
  const client = newClient()
  const text = 'x'.repeat(2 ** 20)

  assert.throws(() => client.logEvent({ eventType: 'custom', payload: { type: 'blob', data: { text } } }), /payload: the event is \d+ bytes as JSON, above the limit of 1048563 bytes per event/)
  assert.throws(() => client.trackCost({ ...cost, trigger: text }), /payload: the event is \d+ bytes/)
  assert.equal(await client.close(1000), 0)
  assert.equal(client.stats().failed, 0)
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
