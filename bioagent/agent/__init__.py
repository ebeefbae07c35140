"""The agent: entity recognition, planning, retrieval, tools, chain-of-thought answers and verified citations.

from bioagent.agent import Agent
agent = Agent.from_settings()
answer = agent.ask("What does TP53 do?")
"""

from bioagent.agent.core import ABSTAIN_TEXT, Agent, AgentEvent, Conversation

__all__ = ["ABSTAIN_TEXT", "Agent", "AgentEvent", "Conversation"]
