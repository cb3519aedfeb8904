"""The MCP server for AI agents (`timeledger mcp`); needs the `mcp` extra."""
