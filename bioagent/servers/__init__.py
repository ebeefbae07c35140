"""Servers that let other programs call bioagent: the MCP server (`bioagent mcp`) and the HTTP API."""
