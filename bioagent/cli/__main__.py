"""`python -m bioagent.cli` runs the `bioagent` command."""

from bioagent.cli.main import main

main()
