"""The `bioagent` command line."""
