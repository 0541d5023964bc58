// Starts a real `agentlens serve` on a free loopback port with a temporary database, for
// the tests in this folder. Set AGENTLENS_BIN to use another binary than the workspace's
// debug build, which is looked for in $CARGO_TARGET_DIR (relative to the current
// directory, as cargo reads it) or else in target/.
'use strict'

const { spawn } = require('node:child_process')
const crypto = require('node:crypto')
const fs = require('node:fs')
const net = require('node:net')
const os = require('node:os')
const path = require('node:path')

const WORKSPACE = path.resolve(__dirname, '../../..')
const TARGET_DIR = path.resolve(process.env.CARGO_TARGET_DIR || path.join(WORKSPACE, 'target'))
const BINARY = process.env.AGENTLENS_BIN || path.join(TARGET_DIR, 'debug/agentlens')

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function waitForHealth(url, child, deadlineMs) {
  const deadline = Date.now() + deadlineMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`agentlens serve exited with ${child.exitCode}`)
    try {
      const response = await fetch(`${url}/api/health`)
      if (response.ok) return
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`agentlens serve did not answer ${url}/api/health within ${deadlineMs} ms`)
}

/** Returns a new API key in the collector's format. */
function newApiKey() {
  return `als_${crypto.randomBytes(32).toString('hex')}`
}

/**
 * Starts the collector and returns { url, apiKey, get(path), stop() }. It listens on
 * `options.port` and accepts `options.apiKey` when given, else on a free port with a new key.
 */
async function startCollector(options = {}) {
  if (!fs.existsSync(BINARY)) {
    throw new Error(`${BINARY} not found: run cargo build -p agentlens-collector --bin agentlens`)
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentlens-node-test-'))
  const port = options.port ?? (await freePort())
  const url = `http://127.0.0.1:${port}`
  const apiKey = options.apiKey ?? newApiKey()
  const stderr = []
  const child = spawn(BINARY, ['serve', '--bind', `127.0.0.1:${port}`, '--db', path.join(dir, 'test.db')], {
    env: { ...process.env, AGENTLENS_API_KEY: apiKey, RUST_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr.on('data', (chunk) => stderr.push(chunk))
  try {
    await waitForHealth(url, child, 15000)
  } catch (error) {
    child.kill()
    throw new Error(`${error.message}\n${Buffer.concat(stderr).toString()}`)
  }

  // Returns the body as text too, because the collector writes amounts as JSON numbers
  // with exact digits, which JSON.parse would round to the nearest double.
  async function get(route) {
    const response = await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${apiKey}` } })
    const text = await response.text()
    if (!response.ok) throw new Error(`GET ${route} returned ${response.status}: ${text}`)
    return { body: JSON.parse(text), text }
  }

  async function stop() {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    fs.rmSync(dir, { recursive: true, force: true })
  }

  return { url, apiKey, get, stop }
}

/** Returns the digits of the first JSON number stored under `key` in `text`. */
function rawNumber(text, key) {
  const match = new RegExp(`"${key}":(-?[0-9][0-9.eE+-]*)`).exec(text)
  if (!match) throw new Error(`no number for ${key} in ${text.slice(0, 200)}`)
  return match[1]
}

/** Converts a decimal string to a BigInt of pico-dollars (1e-12 USD), exactly. */
function toPico(decimal) {
  const [whole, fraction = ''] = decimal.split('.')
  if (fraction.length > 12) throw new Error(`${decimal} has more than 12 decimals`)
  return BigInt(whole + fraction.padEnd(12, '0'))
}

module.exports = { startCollector, freePort, newApiKey, rawNumber, toPico, WORKSPACE }
