// Feeds recorded provider responses, and the Vercel AI SDK usage built from them, through
// trackResponse and checks the costs against the shared table and the collector.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { Client } = require('..')
const { startCollector, rawNumber, toPico } = require('./helpers/collector')
const { costRows, recordedResponse, vercelUsage } = require('./helpers/fixtures')

let collector

test.before(async () => {
  collector = await startCollector()
})

test.after(async () => {
  await collector.stop()
})

// The table's costs are computed at the time each row lists. Vercel AI SDK results are
// priced now and raw responses at their `created` time, so each test first checks that the
// row's price entry is the same at both times.
function priceIsCurrent(row) {
  const { quote } = require('..')
  return quote(row.provider, row.model, row.usage).costUsd === row.costUsd
}

function priceAtCreation(row) {
  const { quote } = require('..')
  const { response } = recordedResponse(row)
  const seconds = response.created ?? response.created_at
  const at = seconds ? new Date(seconds * 1000) : new Date()
  return quote(row.provider, row.model, row.usage, at).costUsd === row.costUsd
}

test('recorded responses cost the table amount natively', async () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey, flushIntervalMs: 50 })
  const sessionId = `ses_raw_${Date.now()}`
  let expectedTotal = 0n

  for (const row of costRows().filter(priceAtCreation)) {
    const { response } = recordedResponse(row)

    const quote = client.trackResponse(response, { sessionId })

    // The whole response may list tool calls (a file search) that its usage object leaves out.
    const expected = row.responseCostUsd ?? row.costUsd
    assert.equal(quote.costUsd, expected, row.name)
    expectedTotal += toPico(expected)
  }
  await client.close(5000)

  const { text } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(toPico(rawNumber(text, 'totalCostUsd')), expectedTotal)
})

test('vercel ai usage costs the same as the raw response', () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey })

  for (const row of costRows().filter(priceIsCurrent)) {
    const { usage, model } = recordedResponse(row)
    const result = { usage: vercelUsage(row.provider, usage), response: { modelId: model } }

    const quote = client.trackResponse(result, { provider: row.provider })

    assert.equal(quote.costUsd, row.costUsd, row.name)
  }
})

test('vercel ai flat usage of gemini adds reasoning to output', () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey })
  const row = costRows().find((candidate) => candidate.provider === 'google')
  const { usage, model } = recordedResponse(row)
  // AI SDK 5 reported Gemini output without thoughts, with thoughts only in the total.
  const flat = {
    inputTokens: usage.promptTokenCount,
    outputTokens: usage.candidatesTokenCount,
    totalTokens: usage.totalTokenCount,
    reasoningTokens: usage.thoughtsTokenCount,
  }

  const quote = client.trackResponse(flat, { provider: 'google', model })

  assert.equal(quote.costUsd, row.costUsd)
})

test('trackResponse without usage or model throws', () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey })

  assert.throws(() => client.trackResponse({ usage: { prompt_tokens: 1 } }), /no model id in the response/)
  assert.throws(() => client.trackResponse({ usage: 5 }), /usage must be an object/)
  assert.throws(() => client.trackResponse({ model: 'gpt-4o', usage: { completion_tokens: 1 } }), /prompt_tokens or input_tokens/)
})

test('trackCost sends tool call counts that the collector bills', async () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey, flushIntervalMs: 50 })
  const sessionId = `ses_tools_${Date.now()}`

  client.trackCost({
    provider: 'openai',
    model: 'gpt-5-mini',
    inputTokens: 0,
    outputTokens: 0,
    webSearches: 2,
    fileSearches: 3,
    codeInterpreterSessions: 1,
    sessionId,
  })
  await client.close(5000)

  // Web search $10 and file search $2.50 per thousand calls, code interpreter $0.03 per
  // session: 0.02 + 0.0075 + 0.03.
  const { text } = await collector.get(`/api/sessions/${sessionId}`)
  assert.equal(toPico(rawNumber(text, 'totalCostUsd')), toPico('0.0575'))
})

test('trackCost rejects a fractional tool count, naming it', () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey })
  assert.throws(
    () => client.trackCost({ provider: 'openai', model: 'gpt-5-mini', inputTokens: 1, outputTokens: 1, fileSearches: 1.5 }),
    /fileSearches/,
  )
})

test('resold model without provider is not priced at reseller rates', async () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey, flushIntervalMs: 50 })
  const file = 'vercel-ai/packages/alibaba/src/__fixtures__/alibaba-reasoning.json'
  const { response } = recordedResponse({ fixture: file, usagePointer: '/usage', modelPointer: '/model' })
  const sessionId = `ses_qwen_${Date.now()}`

  const unnamed = client.trackResponse(response, { sessionId })
  const named = client.trackResponse(response, { provider: 'alibaba', sessionId })
  await client.close(5000)

  assert.equal(unnamed.costUsd, null)
  assert.match(unnamed.unpricedReason, /unknown provider for model "qwen3-max".*dashscope/)
  assert.equal(named.provider, 'dashscope')
  const { body } = await collector.get(`/api/events?sessionId=${sessionId}`)
  const providers = body.events.map((event) => event.payload.provider).sort()
  assert.deepEqual(providers, ['alibaba', 'unknown'])
})

test('openai shape takes the maker of the model', () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey })
  const file = 'vercel-ai/packages/xai/src/__fixtures__/xai-text.json'
  const { response } = recordedResponse({ fixture: file, usagePointer: '/usage', modelPointer: '/model' })

  const quote = client.trackResponse(response)

  assert.equal(quote.provider, 'x-ai')
})

test('trackResponse prices at the created time in unix seconds', () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey })
  // gpt-5.5-cyber bills cache reads at the input rate until its cache rate of 2026-10-19.
  const response = {
    model: 'gpt-5.5-cyber',
    created: 1770764902,
    usage: { prompt_tokens: 1000000, completion_tokens: 0, prompt_tokens_details: { cached_tokens: 1000000 } },
  }

  const quote = client.trackResponse(response)

  assert.equal(quote.costUsd, '12.5')
  assert.equal(quote.priceDate, null)
  assert.throws(() => client.trackResponse({ ...response, created: 1770764902000 }), /invalid created 1770764902000: expected Unix seconds/)
})
