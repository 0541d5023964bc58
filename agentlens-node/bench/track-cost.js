// Measures what `client.trackCost` costs its caller: converting the argument, checking it
// and queueing the event. A real collector started on a loopback port receives the events.
//
// Run from agentlens-node after `npx napi build --platform --release`:
//   node bench/track-cost.js
'use strict'

const { Client } = require('..')
const { startCollector } = require('../test/helpers/collector')

const BATCH = 1000
const BATCHES = 200
const WARMUP_BATCHES = 20

function median(values) {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

async function main() {
  const collector = await startCollector()
  const client = new Client({
    url: collector.url,
    apiKey: collector.apiKey,
    queueCapacity: (BATCHES + WARMUP_BATCHES) * BATCH,
  })
  const cost = { provider: 'openai', model: 'gpt-4o', inputTokens: 1200, cacheReadTokens: 200, outputTokens: 300, costUsd: '0.00525', sessionId: 'ses_bench' }

  const perCallNs = []
  for (let batch = 0; batch < WARMUP_BATCHES + BATCHES; batch++) {
    const started = process.hrtime.bigint()
    for (let index = 0; index < BATCH; index++) client.trackCost(cost)
    const elapsed = Number(process.hrtime.bigint() - started) / BATCH
    if (batch >= WARMUP_BATCHES) perCallNs.push(elapsed)
    // Yields so that the batches are not all measured while one send is in flight.
    await new Promise((resolve) => setImmediate(resolve))
  }
  const pending = await client.close(30000)
  const stats = client.stats()
  await collector.stop()

  const sorted = [...perCallNs].sort((a, b) => a - b)
  const p90 = sorted[Math.floor(sorted.length * 0.9)]
  console.log(`trackCost per call: median ${(median(perCallNs) / 1000).toFixed(2)} us, p90 ${(p90 / 1000).toFixed(2)} us over ${BATCHES} batches of ${BATCH}`)
  console.log(`sent ${stats.sent}, failed ${stats.failed}, dropped ${stats.dropped}, pending ${pending}`)
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
