// Checks that a client collected as garbage without close() does not block the event
// loop while its queued events wait for a collector that never replies.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const path = require('node:path')

// The child runs a listener that accepts connections and never replies, so the client's
// request stays in flight. It drops the client, collects garbage, and reports the longest
// gap between timer ticks over the next 3 s. A drop that waited for the 2 s shutdown
// deadline on the JavaScript thread would show up as a gap of 2 s.
const CHILD_SCRIPT = `
const net = require('node:net')
const { Client } = require(${JSON.stringify(path.resolve(__dirname, '..'))})

const server = net.createServer(() => {})
server.listen(0, '127.0.0.1', async () => {
  const connected = new Promise((resolve) => server.once('connection', resolve))
  let client = new Client({ url: 'http://127.0.0.1:' + server.address().port, apiKey: 'als_test', flushIntervalMs: 10 })
  client.trackCost({ provider: 'openai', model: 'gpt-4o-mini', inputTokens: 1, outputTokens: 1 })
  await connected

  client = null
  let last = Date.now()
  let longestGapMs = 0
  const ticker = setInterval(() => {
    const now = Date.now()
    longestGapMs = Math.max(longestGapMs, now - last)
    last = now
  }, 20)
  global.gc()
  setTimeout(() => {
    clearInterval(ticker)
    server.close()
    for (const socket of sockets) socket.destroy()
    console.log(JSON.stringify({ longestGapMs }))
  }, 3000)
})
const sockets = []
server.on('connection', (socket) => sockets.push(socket))
`

test('dropped client does not block the event loop', async () => {
  const stdout = await new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', '-e', CHILD_SCRIPT], { timeout: 30000 }, (error, out, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(out),
    )
  })

  const { longestGapMs } = JSON.parse(stdout.trim().split('\n').pop())
  assert.ok(longestGapMs < 1000, `the event loop stalled for ${longestGapMs} ms`)
})
