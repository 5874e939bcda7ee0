"""Settings for the agent and the cloud store: TOML file plus ``STAMPEDGE_<SECTION>__<KEY>`` env."""

from config.agent import (
    AgentSection,
    AgentSettings,
    CloudLink,
    PrinterSettings,
    ProgramSettings,
    ScannerSettings,
)
from config.cloud import CloudSection, CloudSettings
from config.loader import ConfigError, load_agent_settings, load_cloud_settings

__all__ = [
    "AgentSection",
    "AgentSettings",
    "CloudLink",
    "CloudSection",
    "CloudSettings",
    "ConfigError",
    "PrinterSettings",
    "ProgramSettings",
    "ScannerSettings",
    "load_agent_settings",
    "load_cloud_settings",
]
