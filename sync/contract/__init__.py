"""The contract between the agent and the cloud store (pure, pydantic only).

Events and batch answers, the one ``Program``, customer references in their canonical form, the
claim token, card codes, shared limits and the error base both HTTP layers map to JSON.
"""
