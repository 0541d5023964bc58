// Sends events while no collector listens, then starts one, as across a collector restart.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { Client } = require('..')
const { startCollector, freePort, newApiKey } = require('./helpers/collector')

test('collector that starts late gets the retried events', async () => {
  const port = await freePort()
  const apiKey = newApiKey()
  const client = new Client({ url: `http://127.0.0.1:${port}`, apiKey, flushIntervalMs: 50 })
  const sessionId = 'ses_node_late_collector'
  for (let index = 0; index < 3; index += 1) {
    client.trackCost({
      provider: 'openai',
      model: 'gpt-4o-mini',
      inputTokens: index + 1,
      outputTokens: 1,
      costUsd: '0.25',
      sessionId,
    })
  }

  // Nothing listens yet, so the first sends fail and the client retries them.
  await new Promise((resolve) => setTimeout(resolve, 2000))
  const collector = await startCollector({ port, apiKey })
  try {
    const pending = await client.flush(30000)

    assert.equal(pending, 0)
    assert.equal(client.stats().failed, 0)
    assert.equal(client.stats().sent, 3)
    const { body, text } = await collector.get(`/api/sessions/${sessionId}`)
    assert.equal(body.eventCount, 3)
    assert.match(text, /"totalCostUsd":0\.75[,}]/)
  } finally {
    await client.close(1000)
    await collector.stop()
  }
})
