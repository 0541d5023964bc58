// Reads the shared expected-cost table and the recorded provider responses it names.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const { WORKSPACE } = require('./collector')

const TEST_DATA = process.env.AGENTLENS_TEST_DATA || path.resolve(WORKSPACE, '../shared/data/real')

function costRows() {
  const table = JSON.parse(fs.readFileSync(path.join(WORKSPACE, 'tests/fixtures/provider-costs.json'), 'utf8'))
  return table.rows
}

function readPointer(value, pointer) {
  return pointer
    .split('/')
    .slice(1)
    .reduce((node, key) => (node === undefined ? undefined : node[key]), value)
}

/** Returns the recorded response of a row, its raw usage object and its model id. */
function recordedResponse(row) {
  const file = path.join(TEST_DATA, 'provider-responses', row.fixture)
  const response = JSON.parse(fs.readFileSync(file, 'utf8'))
  return { response, usage: readPointer(response, row.usagePointer), model: readPointer(response, row.modelPointer) }
}

/**
 * Builds the usage object that the Vercel AI SDK (version 6) reports for a raw provider
 * usage, following the SDK's per-provider conversions: totals include cache and
 * reasoning, and the details split them.
 */
function vercelUsage(provider, raw) {
  let input
  let cacheRead = 0
  let cacheWrite = 0
  let output
  let reasoning = 0
  if (provider === 'anthropic') {
    cacheRead = raw.cache_read_input_tokens ?? 0
    cacheWrite = raw.cache_creation_input_tokens ?? 0
    input = raw.input_tokens + cacheRead + cacheWrite
    output = raw.output_tokens
  } else if (provider === 'google') {
    input = raw.promptTokenCount
    cacheRead = raw.cachedContentTokenCount ?? 0
    reasoning = raw.thoughtsTokenCount ?? 0
    output = (raw.candidatesTokenCount ?? 0) + reasoning
  } else if (raw.prompt_tokens !== undefined) {
    input = raw.prompt_tokens
    cacheRead = raw.prompt_tokens_details?.cached_tokens ?? 0
    output = raw.completion_tokens
    reasoning = raw.completion_tokens_details?.reasoning_tokens ?? 0
  } else {
    input = raw.input_tokens
    cacheRead = raw.input_tokens_details?.cached_tokens ?? 0
    output = raw.output_tokens
    reasoning = raw.output_tokens_details?.reasoning_tokens ?? 0
  }
  return {
    inputTokens: input,
    inputTokenDetails: { noCacheTokens: input - cacheRead - cacheWrite, cacheReadTokens: cacheRead, cacheWriteTokens: cacheWrite },
    outputTokens: output,
    outputTokenDetails: { textTokens: output - reasoning, reasoningTokens: reasoning },
    totalTokens: input + output,
    reasoningTokens: reasoning,
    cachedInputTokens: cacheRead,
  }
}

module.exports = { costRows, recordedResponse, vercelUsage, TEST_DATA }
