"""Detection on frames read once for the sync (as it reads them itself), and a re-detection
that changes nothing but `detected_at` (one narrow UPDATE, the same rows as a full save)."""

from __future__ import annotations

import pandas as pd

from pipelines_etl.flags import detect as detect_module
from pipelines_etl.flags import detect_stale_deals
from pipelines_etl.health import compute_health
from warehouse.deal_frames import load_deal_frames

from .conftest import NOW


def _rows(h) -> dict:
    return {k: {c: v for c, v in r.items() if c != "updated_at"} for k, r in h.flags().items()}


def test_detection_and_metrics_on_shared_frames_match_their_own_reads(make_harness) -> None:
    h = make_harness()
    h.nightly()
    frames = load_deal_frames(h.engine)
    own = detect_stale_deals(h.engine, app_config=h.config, now=NOW)
    shared = detect_stale_deals(h.engine, app_config=h.config, now=NOW, frames=frames)
    pd.testing.assert_frame_equal(own.flags, shared.flags)
    assert (own.flagged, own.by_source) == (shared.flagged, shared.by_source)
    alone = compute_health(h.engine, app_config=h.config, as_of=NOW)
    together = compute_health(h.engine, app_config=h.config, as_of=NOW, frames=frames)
    pd.testing.assert_frame_equal(alone.to_frame(), together.to_frame())


def test_a_redetection_with_nothing_changed_moves_only_detected_at(
    make_harness, monkeypatch
) -> None:
    h = make_harness()
    h.nightly()
    before = _rows(h)
    assert before
    touched: list[str] = []
    real_touch = detect_module.touch_flag_rows

    def spy(conn, keys, detected_at):
        touched.extend(keys)
        real_touch(conn, keys, detected_at)

    monkeypatch.setattr(detect_module, "touch_flag_rows", spy)
    later = NOW + pd.Timedelta(minutes=5)
    result = h.detect(later)
    assert sorted(touched) == sorted(before)  # every row: none saved whole
    after = _rows(h)
    assert result.new == result.cleared == result.dismissed == 0
    assert set(after) == set(before)
    for key, row in after.items():
        assert row["detected_at"] == later.to_pydatetime()
        assert {**row, "detected_at": None} == {**before[key], "detected_at": None}
    stamps = {r["updated_at"] for r in h.flags().values()}
    h.detect(later)  # the same instant again: nothing at all is written
    assert {r["updated_at"] for r in h.flags().values()} == stamps
