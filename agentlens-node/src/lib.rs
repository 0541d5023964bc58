//! AgentLens for Node.js.
