// Checks that a process which ends right after logging loses no event: the addon's
// beforeExit listener flushes the queue before Node exits.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const path = require('node:path')
const { startCollector } = require('./helpers/collector')

const EVENT_COUNT = 1446

const CHILD_SCRIPT = `
const { Client } = require(${JSON.stringify(path.resolve(__dirname, '..'))})
const client = new Client()
for (let index = 0; index < ${EVENT_COUNT}; index++) {
  client.trackCost({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: index + 1, outputTokens: 1, costUsd: '0.000001', callId: 'call_' + index })
}
`

test('exit right after logging loses nothing', async () => {
  const collector = await startCollector()
  try {
    const sessionId = `ses_exit_${Date.now()}`
    const env = { ...process.env, AGENTLENS_SERVER_URL: collector.url, AGENTLENS_API_KEY: collector.apiKey }

    await new Promise((resolve, reject) => {
      const script = CHILD_SCRIPT.replace('new Client()', `new Client({ sessionId: ${JSON.stringify(sessionId)} })`)
      execFile(process.execPath, ['-e', script], { env, timeout: 30000 }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(),
      )
    })

    const { body, text } = await collector.get(`/api/sessions/${sessionId}`)
    assert.equal(body.eventCount, EVENT_COUNT)
    assert.match(text, /"totalCostUsd":0\.001446[,}]/)
  } finally {
    await collector.stop()
  }
})
