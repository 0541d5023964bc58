// Type-checks the TypeScript example of README.md against the generated index.d.ts.
'use strict'

const test = require('node:test')
const assert = require('node:assert/strict')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const PACKAGE_DIR = path.resolve(__dirname, '..')

test('readme example type-checks against index.d.ts', () => {
  const readme = fs.readFileSync(path.join(PACKAGE_DIR, 'README.md'), 'utf8')
  const example = /```ts\n([\s\S]*?)```/.exec(readme)
  assert.ok(example, 'README.md has no ```ts block')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agentlens-readme-'))
  fs.writeFileSync(path.join(dir, 'example.ts'), example[1])
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      types: [],
      baseUrl: '.',
      paths: { '@agentlens/node': [path.join(PACKAGE_DIR, 'index.d.ts')] },
    },
    files: ['example.ts'],
  }
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify(tsconfig))
  // Top-level await needs an ES module, which NodeNext decides from package.json.
  fs.writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}')

  try {
    execFileSync(path.join(PACKAGE_DIR, 'node_modules/.bin/tsc'), ['--noEmit', '-p', dir], { encoding: 'utf8' })
  } catch (error) {
    assert.fail(`tsc rejected the README example:\n${error.stdout}${error.stderr}`)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('esm entry exports the same bindings', async () => {
  const esm = await import(path.join(PACKAGE_DIR, 'index.mjs'))
  const cjs = require('..')

  assert.equal(esm.Client, cjs.Client)
  assert.equal(esm.quote, cjs.quote)
})
