"""Deals and stage stays read once per sync and shared by stale detection and the metrics.

Both read every deal and every stay; the sync reads them here once (`read_deal_frames`) and
hands the same typed frames to both. The deals are kept in the order of a plain scan (what
the metrics read) with the positions of the `ORDER BY deal_key` order (what detection reads),
so each sees its rows in the order it would have read them itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import sqlalchemy as sa

from warehouse.flags import DEAL_COLUMNS as FLAG_DEAL_COLUMNS
from warehouse.flags import STAY_COLUMNS as FLAG_STAY_COLUMNS
from warehouse.frames import read_frame
from warehouse.schema import deal_stage_history, deals

# Every column detection (warehouse.flags) and the metrics (pipelines_etl.health) read.
DEAL_FRAME_COLUMNS: tuple[str, ...] = FLAG_DEAL_COLUMNS
STAY_FRAME_COLUMNS: tuple[str, ...] = (*FLAG_STAY_COLUMNS, "stage")


@dataclass(frozen=True)
class DealFrames:
    """Typed `read_frame` frames of `deals` and `deal_stage_history`, read at one moment."""

    deals: pd.DataFrame  # DEAL_FRAME_COLUMNS, in table scan order
    stays: pd.DataFrame  # STAY_FRAME_COLUMNS, in table scan order
    key_order: np.ndarray  # positions into `deals` in the database's deal_key order

    def deal_columns(self, columns: Sequence[str], *, by_key: bool = False) -> pd.DataFrame:
        """`columns` of the deals, as read unordered or (`by_key`) ordered by deal_key."""
        frame = self.deals[list(columns)]
        if by_key:
            frame = frame.take(self.key_order).reset_index(drop=True)
        return frame

    def stay_columns(self, columns: Sequence[str]) -> pd.DataFrame:
        """`columns` of the stays, as read."""
        return self.stays[list(columns)]


def read_deal_frames(conn: sa.Connection) -> DealFrames:
    """Every deal and stay (the columns detection and the metrics read), typed, in one go."""
    deal_frame = read_frame(conn, deals, DEAL_FRAME_COLUMNS)
    # The keys alone in the database's own order (its collation, not Python's).
    ordered = conn.execute(sa.select(deals.c.deal_key).order_by(deals.c.deal_key)).scalars().all()
    key_order = pd.Index(deal_frame["deal_key"]).get_indexer(ordered)
    if len(key_order) != len(deal_frame) or (key_order < 0).any():
        raise RuntimeError("deals changed while they were read; read them in one transaction")
    stays = read_frame(conn, deal_stage_history, STAY_FRAME_COLUMNS)
    return DealFrames(deals=deal_frame, stays=stays, key_order=np.asarray(key_order))


def load_deal_frames(engine: sa.Engine) -> DealFrames:
    """`read_deal_frames` on a connection of its own."""
    with engine.connect() as conn:
        return read_deal_frames(conn)
