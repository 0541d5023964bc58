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

// The table's costs are computed at a fixed time, and these responses are priced now, so
// each row is first checked to have one price entry in force for both times.
function priceIsCurrent(row) {
  const { quote } = require('..')
  return quote(row.provider, row.model, row.usage).costUsd === row.costUsd
}

test('recorded responses cost the table amount natively', async () => {
  const client = new Client({ url: collector.url, apiKey: collector.apiKey, flushIntervalMs: 50 })
  const sessionId = `ses_raw_${Date.now()}`
  let expectedTotal = 0n

  for (const row of costRows().filter(priceIsCurrent)) {
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
