"""Lead source -> lead channel (inbound / outbound / unknown), from a configurable mapping.

Defaults, matched case-insensitively with "_" and "-" read as spaces (so HubSpot's
`ORGANIC_SEARCH` matches "organic search"):
- inbound: the buyer came to us: Web, Phone Inquiry, Partner Referral, Employee Referral,
  External Referral, Word of mouth, Advertisement, Webinar, Seminar - Internal, and
  HubSpot's analytics sources (Organic search, Paid search, Paid social, Social media,
  Email marketing, Referrals, Direct traffic).
- outbound: we approached the buyer: Purchased List, Cold Call, Outbound, Prospecting,
  Sales Generated.
- unknown: Other, Offline, Other campaigns, Trade Show (either way round), anything missing
  or not listed.
Partner referrals count as inbound: the buyer asked for us, through someone else.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

CHANNELS: tuple[str, ...] = ("inbound", "outbound", "unknown")

DEFAULT_LEAD_CHANNELS: dict[str, str] = {
    "web": "inbound",
    "phone inquiry": "inbound",
    "partner referral": "inbound",
    "partner": "inbound",
    "employee referral": "inbound",
    "external referral": "inbound",
    "word of mouth": "inbound",
    "advertisement": "inbound",
    "webinar": "inbound",
    "seminar internal": "inbound",
    "organic search": "inbound",
    "paid search": "inbound",
    "paid social": "inbound",
    "social media": "inbound",
    "email marketing": "inbound",
    "referrals": "inbound",
    "direct traffic": "inbound",
    "purchased list": "outbound",
    "cold call": "outbound",
    "outbound": "outbound",
    "prospecting": "outbound",
    "sales generated": "outbound",
    "trade show": "unknown",
    "other": "unknown",
    "offline": "unknown",
    "other campaigns": "unknown",
}


def lead_source_key(values: pd.Series) -> pd.Series:
    """Lead sources folded for matching: lower case, "_"/"-" as spaces, single spaces."""
    text = values.astype("str").str.lower()
    text = text.str.replace(r"[_\-]+", " ", regex=True).str.replace(r"\s+", " ", regex=True)
    return text.str.strip()


def lead_channel_mapping(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """Defaults with configured overrides on top, keys folded; ValueError on a bad channel."""
    merged = dict(DEFAULT_LEAD_CHANNELS)
    for source, channel in (overrides or {}).items():
        if channel not in CHANNELS:
            raise ValueError(
                f"lead channel for {source!r} must be one of {', '.join(CHANNELS)}, got {channel!r}"
            )
        key = lead_source_key(pd.Series([source], dtype="str")).iloc[0]
        merged[key] = channel
    return merged


def classify_lead_channel(
    lead_sources: pd.Series, overrides: Mapping[str, str] | None = None
) -> pd.Series:
    """Each lead source's channel; missing or unlisted sources are "unknown"."""
    mapping = lead_channel_mapping(overrides)
    codes, uniques = pd.factorize(lead_sources.astype("str"))
    unique_channels = lead_source_key(pd.Series(uniques, dtype="str")).map(mapping)
    channels = np.append(unique_channels.fillna("unknown").to_numpy(dtype=object), "unknown")
    picked = channels[np.where(codes >= 0, codes, len(channels) - 1)]
    return pd.Series(picked, index=lead_sources.index, dtype="str")
