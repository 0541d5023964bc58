// Checks `quote` and `validateEvent` of the native addon against the shared cost table.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const agentlens = require('..')
const { costRows } = require('./helpers/fixtures')

test('quote matches every row of the cost table', () => {
  for (const row of costRows()) {
    const quote = agentlens.quote(row.provider, row.model, row.usage, row.at)

    assert.equal(quote.costUsd, row.costUsd, row.name)
    assert.equal(quote.unpricedReason, null, row.name)
    assert.match(quote.pricingVersion, /^pv_[0-9a-f]{12}$/)
  }
})

test('quote accepts a Date for the time', () => {
  const row = costRows()[0]

  const quote = agentlens.quote(row.provider, row.model, row.usage, new Date(row.at))

  assert.equal(quote.costUsd, row.costUsd)
})

test('quote breakdown lines are decimal strings that add up', () => {
  const quote = agentlens.quote('openai', 'gpt-5-mini', { inputTokens: 3700, cacheReadTokens: 2560, outputTokens: 741 }, '2026-06-01T12:00:00Z')

  assert.equal(quote.breakdown.input.costUsd, '0.000285')
  assert.equal(quote.breakdown.cacheRead.costUsd, '0.000064')
  assert.equal(quote.breakdown.output.costUsd, '0.001482')
  assert.equal(quote.breakdown.input.rate, '0.25')
  assert.equal(typeof quote.costUsd, 'string')
})

test('quote of unknown model is unpriced not zero', () => {
  const quote = agentlens.quote('openai', 'no-such-model', { inputTokens: 10, outputTokens: 10 })

  assert.equal(quote.costUsd, null)
  assert.equal(quote.breakdown, null)
  assert.match(quote.unpricedReason, /unknown model "no-such-model"/)
})

test('quote treats null optional counts as absent', () => {
  const usage = { inputTokens: 3700, cacheReadTokens: 2560, outputTokens: 741 }
  const nulls = {
    cacheWrite5mTokens: null,
    cacheWrite1hTokens: null,
    reasoningTokens: null,
    webSearches: null,
    fileSearches: null,
    codeInterpreterSessions: null,
    inputAudioTokens: null,
    inputImageTokens: null,
    inputVideoTokens: null,
    cacheAudioReadTokens: null,
    cacheImageReadTokens: null,
    cacheVideoReadTokens: null,
    outputAudioTokens: null,
    outputImageTokens: null,
    outputVideoTokens: null,
  }
  const at = '2026-06-01T12:00:00Z'
  const expected = agentlens.quote('openai', 'gpt-5-mini', usage, at).costUsd

  for (const field of Object.keys(nulls)) {
    const quote = agentlens.quote('openai', 'gpt-5-mini', { ...usage, [field]: null }, at)
    assert.equal(quote.costUsd, expected, field)
  }
  const all = agentlens.quote('openai', 'gpt-5-mini', { ...usage, ...nulls }, at)
  assert.equal(all.costUsd, expected)
})

test('quote rejects invalid counts', () => {
  assert.throws(() => agentlens.quote('openai', 'gpt-4o', { inputTokens: -1, outputTokens: 0 }), /invalid inputTokens -1/)
  assert.throws(() => agentlens.quote('openai', 'gpt-4o', { inputTokens: 1.5, outputTokens: 0 }), /whole number/)
  assert.throws(
    () => agentlens.quote('openai', 'gpt-4o', { inputTokens: 10, cacheReadTokens: 20, outputTokens: 0 }),
    /cache tokens \(20\) exceed input tokens \(10\)/,
  )
  assert.throws(() => agentlens.quote('openai', 'gpt-4o', { inputTokens: 1, outputTokens: 1 }, 'yesterday'), /invalid time "yesterday"/)
})

test('validateEvent lists every violation by path', () => {
  const errors = agentlens.validateEvent({ sessionId: 's', agentId: 'a', eventType: 'tool_call', payload: { toolName: 'search' } })

  assert.deepEqual(
    errors.map((error) => error.path),
    ['payload.callId', 'payload.arguments'],
  )
})

test('validateEvent accepts a valid event', () => {
  const event = { sessionId: 's', agentId: 'a', eventType: 'tool_call', payload: { toolName: 'search', callId: 'c1', arguments: {} } }

  assert.deepEqual(agentlens.validateEvent(event), [])
})
