// ES module entry: re-exports the CommonJS loader that napi-rs generates.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const binding = require('./index.js')

export const { Client, Session, quote, validateEvent, pricingVersion } = binding
export default binding
