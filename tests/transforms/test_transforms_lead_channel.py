"""Lead source -> inbound / outbound / unknown."""

from __future__ import annotations

import pandas as pd
import pytest

from transforms.lead_channel import classify_lead_channel


def test_defaults_and_folding() -> None:
    sources = pd.Series(
        [
            "Web",
            "phone inquiry",
            "Partner Referral",
            "Purchased List",
            "ORGANIC_SEARCH",
            "Other",
            None,
            "Something new",
            " cold-call ",
        ],
        dtype=object,
    )
    assert classify_lead_channel(sources).tolist() == [
        "inbound",
        "inbound",
        "inbound",
        "outbound",
        "inbound",
        "unknown",
        "unknown",
        "unknown",
        "outbound",
    ]


def test_configured_mapping_overrides_defaults() -> None:
    sources = pd.Series(["Web", "Trade Show", "Partner Referral"])
    got = classify_lead_channel(sources, {"trade show": "outbound", "PARTNER_REFERRAL": "unknown"})
    assert got.tolist() == ["inbound", "outbound", "unknown"]


def test_bad_channel_in_configuration() -> None:
    with pytest.raises(ValueError, match="inbound, outbound, unknown"):
        classify_lead_channel(pd.Series(["Web"]), {"Web": "incoming"})
