"""Which function checks each alert kind (answer_checks, drop_checks, fleet_checks), and which must hold first.

Each check returns the conditions true now (`Finding`s) for the sites where
the kind applies; `evaluate.py` turns them into raised, updated and resolved
alerts.
"""

from __future__ import annotations

from collector.alerts.answer_checks import silence, unhappy_share, unusual_volume
from collector.alerts.context import Context
from collector.alerts.drop_checks import satisfaction_drop, satisfaction_drop_week
from collector.alerts.fleet_checks import clock_unsynced, kiosk_offline, outbox_drops, seq_gaps
from collector.alerts.rules import Kind

CHECKS = {Kind.UNHAPPY_SHARE: unhappy_share, Kind.KIOSK_OFFLINE: kiosk_offline, Kind.SILENCE: silence,
          Kind.UNUSUAL_VOLUME: unusual_volume, Kind.SEQ_GAPS: seq_gaps, Kind.CLOCK_UNSYNCED: clock_unsynced,
          Kind.SATISFACTION_DROP: satisfaction_drop, Kind.SATISFACTION_DROP_WEEK: satisfaction_drop_week,
          Kind.OUTBOX_DROPS: outbox_drops}
# Kinds raised only once their condition has held `after_min` (kept in alert_watch meanwhile).
HELD = frozenset({Kind.SEQ_GAPS, Kind.CLOCK_UNSYNCED})

__all__ = ["CHECKS", "HELD", "Context"]
