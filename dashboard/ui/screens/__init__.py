"""Screens beyond the main grid: the send log, one send's diff, schedules, help, the attention list."""

from dashboard.ui.screens.attention import AttentionScreen
from dashboard.ui.screens.diff import DiffScreen
from dashboard.ui.screens.help import HelpScreen
from dashboard.ui.screens.log import LogScreen
from dashboard.ui.screens.schedules import SchedulesScreen

__all__ = ["AttentionScreen", "DiffScreen", "HelpScreen", "LogScreen", "SchedulesScreen"]
