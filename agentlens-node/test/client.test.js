// Sends events from Node to a real collector and checks what it stored.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { Client } = require('..')
const { startCollector, rawNumber } = require('./helpers/collector')

let collector

test.before(async () => {
  collector = await startCollector()
})

test.after(async () => {
  await collector.stop()
})

function newClient(extra = {}) {
  return new Client({ url: collector.url, apiKey: collector.apiKey, agentId: 'node-test', flushIntervalMs: 50, ...extra })
}

test('trackCost arrives with exact cost', async () => {
  const client = newClient()
  const sessionId = `ses_cost_${Date.now()}`

  client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 1200, outputTokens: 300, costUsd: '0.000000000125', sessionId })
  client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1, costUsd: '0.1', sessionId })
  client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1, costUsd: '0.2', sessionId })
  const pending = await client.close(5000)

  assert.equal(pending, 0)
  const { body, text } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(body.eventCount, 3)
  assert.equal(rawNumber(text, 'totalCostUsd'), '0.300000000125')
  assert.equal(client.stats().sent, 3)
  assert.equal(client.stats().failed, 0)
})

test('trackCost without cost is priced by the collector', async () => {
  const client = newClient()
  const sessionId = `ses_priced_${Date.now()}`

  client.trackCost({ provider: 'openai', model: 'gpt-5-mini', inputTokens: 3700, cacheReadTokens: 2560, outputTokens: 741, reasoningTokens: 640, sessionId })
  await client.close(5000)

  const { text } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(rawNumber(text, 'totalCostUsd'), '0.001831')
})

test('trackCost treats null optional counts as absent', async () => {
  const client = newClient()
  const sessionId = `ses_nulls_${Date.now()}`
  const nulls = {
    cacheWrite5mTokens: null,
    cacheWrite1hTokens: null,
    reasoningTokens: null,
    webSearches: null,
    fileSearches: null,
    codeInterpreterSessions: null,
  }

  client.trackCost({ provider: 'openai', model: 'gpt-5-mini', inputTokens: 3700, cacheReadTokens: 2560, outputTokens: 741, sessionId, ...nulls })
  client.trackCost({ provider: 'openai', model: 'gpt-5-mini', inputTokens: 10, cacheReadTokens: null, outputTokens: 1, sessionId })
  const pending = await client.close(5000)

  assert.equal(pending, 0)
  assert.equal(client.stats().sent, 2)
  const { body } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(body.eventCount, 2)
})

test('trackCost rejects a number for costUsd', () => {
  const client = newClient()

  assert.throws(
    () => client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1, costUsd: 0.1 }),
    /pass the cost as a decimal string such as "0.1"/,
  )
  assert.throws(
    () => client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1, costUsd: '-1' }),
    /costUsd: costUsd must be 0 or more, got -1/,
  )
  assert.throws(() => client.trackCost({ provider: '', model: 'gpt-4o', inputTokens: 1, outputTokens: 1 }), /provider: provider must not be empty/)
  assert.throws(
    () => client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 10, cacheReadTokens: 20, outputTokens: 1 }),
    /inputTokens: cache tokens \(20\) exceed input tokens \(10\)/,
  )
  assert.equal(client.stats().pending, 0)
})

test('trackCost throws for costs the collector rejects and sends the rest', async () => {
  const client = newClient()
  const sessionId = `ses_rejected_${Date.now()}`
  const valid = { provider: 'openai', model: 'gpt-4o', inputTokens: 1000, outputTokens: 500, sessionId }

  assert.throws(() => client.trackCost({ ...valid, costUsd: '0.0000000000001' }), /costUsd: costUsd 0\.0000000000001 has more than 12 decimal places/)
  assert.throws(() => client.trackCost({ ...valid, costUsd: '9223373' }), /costUsd: costUsd 9223373 is larger than the maximum of 9223372.036854775807 USD/)
  assert.throws(() => client.trackCost({ ...valid, inputTokens: 2 ** 53 }), /inputTokens: token count 9007199254740992 is larger than the maximum of 9007199254740991/)
  assert.throws(() => client.trackCost({ ...valid, sessionId: ' ' }), /sessionId: sessionId must not be empty/)
  assert.equal(client.stats().pending, 0)
  client.trackCost(valid)
  assert.equal(await client.close(5000), 0)

  assert.equal(client.stats().sent, 1)
  assert.equal(client.stats().failed, 0)
  const { body } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(body.eventCount, 1)
})

test('logEvent throws naming the field and queues nothing', async () => {
  const client = newClient()

  assert.throws(() => client.logEvent({ eventType: 'tool_call', payload: { toolName: 'search' } }), /payload\.callId: callId is required/)
  assert.throws(() => client.logEvent({ eventType: 'not_a_type', payload: {} }), /eventType: unknown event type "not_a_type"/)
  assert.throws(() => client.logEvent({ eventType: 'custom', payload: {}, severity: 'loud' }), /severity: invalid severity "loud"/)
  assert.equal(client.stats().pending, 0)
  assert.equal(await client.close(1000), 0)
  assert.equal(client.stats().sent, 0)
})

test('logEvent sends a valid event', async () => {
  const client = newClient()
  const sessionId = `ses_log_${Date.now()}`

  client.logEvent({ sessionId, eventType: 'tool_call', payload: { toolName: 'search', callId: 'c1', arguments: { q: 'x' } } })
  await client.close(5000)

  const { body } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(body.toolCallCount, 1)
  assert.equal(body.agentId, 'node-test')
})

test('session records start and completed end', async () => {
  const client = newClient()

  const sessionId = await client.session({ agentId: 'agent-s', tags: ['node', 'test'] }, async (session) => {
    session.trackCost({ provider: 'anthropic', model: 'claude-haiku-4-5', inputTokens: 1151, outputTokens: 87 })
    await new Promise((resolve) => setTimeout(resolve, 5))
    return session.sessionId
  })
  await client.close(5000)

  const { body, text } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(body.status, 'completed')
  assert.equal(body.agentId, 'agent-s')
  assert.deepEqual(body.tags, ['node', 'test'])
  assert.equal(body.eventCount, 3)
  assert.equal(rawNumber(text, 'totalCostUsd'), '0.001586')
})

test('session ends with error and rethrows the same error', async () => {
  const client = newClient()
  const failure = new TypeError('tool exploded')
  let sessionId

  await assert.rejects(
    client.session({ tags: [] }, async (session) => {
      sessionId = session.sessionId
      throw failure
    }),
    (error) => error === failure,
  )
  await client.close(5000)

  const { body } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(body.status, 'error')
})

test('failed sends are counted not thrown', async () => {
  const client = new Client({ url: 'http://127.0.0.1:9', apiKey: 'als_unused', flushIntervalMs: 10 })
  const warnings = []
  const originalWarn = console.warn
  console.warn = (message) => warnings.push(message)

  try {
    client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1 })
    const pending = await client.close(3000)

    assert.equal(pending, 0)
    assert.equal(client.stats().failed, 1)
    client.trackCost({ provider: 'openai', model: 'gpt-4o', inputTokens: 1, outputTokens: 1 })
    await client.flush(100)
  } finally {
    console.warn = originalWarn
  }
  assert.equal(client.stats().dropped, 1)
  assert.ok(warnings.some((line) => /could not be sent/.test(line)), warnings.join('\n'))
  assert.ok(warnings.length <= 2, warnings.join('\n'))
})

test('environment supplies defaults', () => {
  const saved = process.env.AGENTLENS_AGENT_ID
  process.env.AGENTLENS_AGENT_ID = 'from-env'
  try {
    const fromEnv = new Client({ url: collector.url })
    const fromCode = new Client({ url: collector.url, agentId: 'from-code' })

    assert.equal(fromEnv.agentId, 'from-env')
    assert.equal(fromCode.agentId, 'from-code')
  } finally {
    if (saved === undefined) delete process.env.AGENTLENS_AGENT_ID
    else process.env.AGENTLENS_AGENT_ID = saved
  }
})

test('invalid url is rejected at construction', () => {
  assert.throws(() => new Client({ url: 'not a url' }), /invalid server url "not a url"/)
})
