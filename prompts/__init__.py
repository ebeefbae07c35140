"""Prompt templates (YAML) used by the agent; loaded and validated by :mod:`bioagent.agent.prompts`."""
