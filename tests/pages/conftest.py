"""Page tests reuse the agent's fixtures (a real agent over real HTTP)."""

from tests.agent.conftest import agent, make_agent

__all__ = ["agent", "make_agent"]
