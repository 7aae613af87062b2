"""Widgets of the main screen, one module per part of the screen they fill."""

from dashboard.ui.widgets.batch_panel import BatchPanel
from dashboard.ui.widgets.composer import Composer
from dashboard.ui.widgets.fleet_bar import AccountBar, FleetBar
from dashboard.ui.widgets.pane_card import PaneCard
from dashboard.ui.widgets.pane_grid import PaneGrid
from dashboard.ui.widgets.pane_table import PaneTable
from dashboard.ui.widgets.preview import Preview

__all__ = ["AccountBar", "BatchPanel", "Composer", "FleetBar", "PaneCard", "PaneGrid", "PaneTable", "Preview"]
