// Checks the WebAssembly build (wasm-bindgen --target nodejs, in ../pkg) against the shared
// cost table, the same rows that the native addon and the Rust tests check.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const wasm = require('../pkg/agentlens_wasm.js')

const WORKSPACE = path.resolve(__dirname, '../..')
const TEST_DATA = process.env.AGENTLENS_TEST_DATA || path.resolve(WORKSPACE, '../shared/data/real')
const ROWS = JSON.parse(fs.readFileSync(path.join(WORKSPACE, 'tests/fixtures/provider-costs.json'), 'utf8')).rows

function pointer(value, path) {
  return path.split('/').slice(1).reduce((node, key) => node[key], value)
}

test('quote matches every row of the cost table', () => {
  for (const row of ROWS) {
    const quote = JSON.parse(wasm.quote(row.provider, row.model, JSON.stringify(row.usage), row.at))

    assert.equal(quote.costUsd, row.costUsd, row.name)
    assert.equal(quote.unpricedReason, null, row.name)
  }
})

test('recorded usage extracts to the table usage', () => {
  for (const row of ROWS) {
    const response = JSON.parse(fs.readFileSync(path.join(TEST_DATA, 'provider-responses', row.fixture), 'utf8'))

    const usage = JSON.parse(wasm.extractUsage(row.provider, JSON.stringify(pointer(response, row.usagePointer))))

    for (const [key, value] of Object.entries(row.usage)) {
      assert.equal(usage[key], value, `${row.name}: ${key}`)
    }
  }
})

test('unknown model is unpriced not zero', () => {
  const quote = JSON.parse(wasm.quote('openai', 'no-such-model', '{"inputTokens": 5, "outputTokens": 5}'))

  assert.equal(quote.costUsd, null)
  assert.match(quote.unpricedReason, /unknown model "no-such-model"/)
})

test('invalid input throws', () => {
  assert.throws(() => wasm.quote('openai', 'gpt-4o', '{"inputTokens": -1}'), /invalid usage json/)
  assert.throws(() => wasm.quote('openai', 'gpt-4o', '{}', 'yesterday'), /invalid time "yesterday"/)
  assert.throws(() => wasm.extractUsage('openai', '{"completion_tokens": 1}'), /prompt_tokens or input_tokens/)
})

test('validateEvent lists every violation by path', () => {
  const event = { sessionId: 's', agentId: 'a', eventType: 'tool_call', payload: { toolName: 'search' } }

  const result = JSON.parse(wasm.validateEvent(JSON.stringify(event)))

  assert.equal(result.valid, false)
  assert.deepEqual(result.errors.map((error) => error.path), ['payload.callId', 'payload.arguments'])
  assert.equal(JSON.parse(wasm.validateEvent(JSON.stringify({ ...event, payload: { toolName: 'a', callId: 'c', arguments: {} } }))).valid, true)
})

test('pricing version matches the native table format', () => {
  assert.match(wasm.pricingVersion(), /^pv_[0-9a-f]{12}$/)
})
