"""End-to-end tests of the MCP server (`km-actions serve`) through real MCP clients."""
