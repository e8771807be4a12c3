"""quota_attainment, coverage, required_pipeline, and the stale_deals metric from a flags frame."""

from __future__ import annotations

import datetime as dt
import warnings
from decimal import Decimal

import pandas as pd
import pytest

from transforms.metrics import MetricsConfig, compute_metrics

T = pd.Timestamp("2026-07-01T00:00Z")
Q2 = "2026-04-01/2026-06-30"
Q3 = "2026-07-01/2026-09-30"


def _run(deals, stays, *, quotas=None, flags=None):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return compute_metrics(
            deals=deals,
            stays=stays,
            snapshots=None,
            quotas=quotas,
            flags=flags,
            as_of=T,
            config=MetricsConfig(),
        )


def _quotas(rows):
    return pd.DataFrame(rows, columns=["owner_email", "period_start", "period_end", "amount"])


@pytest.fixture
def quotas():
    d = dt.date
    return _quotas(
        [
            ("ann@example.com", d(2026, 4, 1), d(2026, 6, 30), Decimal(400)),
            ("ann@example.com", d(2026, 7, 1), d(2026, 9, 30), Decimal(200)),
            ("Bob@Example.com", d(2026, 4, 1), d(2026, 6, 30), Decimal(100)),
        ]
    )


def test_owner_quota_attainment_coverage_and_required_pipeline(worked_example, quotas) -> None:
    result = _run(*worked_example, quotas=quotas)
    ann = {"scope": "owner", "scope_key": "ann@example.com"}
    # Q2: A won 100 of 400; nothing open closes in Q2
    assert result.value("quota_attainment", **ann) == {Q2: 0.25, Q3: 0.0}
    assert result.value("coverage", **ann)[Q2] == 0.0
    assert result.value("coverage", **ann)[Q3] == pytest.approx(140 / 200)  # C 80 + D 60
    q2 = result.value("required_pipeline", **ann)[Q2]
    assert q2["remaining"] == Decimal(300) and q2["covered"] is False
    assert q2["amount"] == pytest.approx(450.0)  # 300 / (100/150)
    assert q2["deals"] == pytest.approx(6.0)  # 300 / (100 * 0.5)
    q3 = result.value("required_pipeline", **ann)[Q3]
    assert q3["amount"] == pytest.approx(300.0) and q3["deals"] == pytest.approx(4.0)


def test_owner_without_deals_has_no_rates_to_project(worked_example, quotas) -> None:
    result = _run(*worked_example, quotas=quotas)
    bob = {"scope": "owner", "scope_key": "bob@example.com"}
    assert result.value("quota_attainment", **bob) == {Q2: 0.0}
    assert result.value("coverage", **bob) == {Q2: 0.0}
    assert result.value("required_pipeline", **bob)[Q2]["amount"] is None
    assert result.value("required_pipeline", **bob)[Q2]["deals"] is None


def test_team_quota_sums_its_owners(worked_example, quotas) -> None:
    result = _run(*worked_example, quotas=quotas)
    assert result.value("quota_attainment")[Q2] == pytest.approx(100 / 500)
    team = result.value("required_pipeline")[Q2]
    assert team["quota"] == Decimal(500) and team["remaining"] == Decimal(400)
    assert team["amount"] == pytest.approx(600.0)
    assert team["deals"] == pytest.approx(8.0)
    payload = result.to_json_dict()
    assert payload["quota_attainment"][Q2] == pytest.approx(0.2)
    assert payload["by_owner"]["ann@example.com"]["coverage"][Q3] == pytest.approx(0.7)


def test_met_quota_has_no_coverage_and_needs_nothing(worked_example) -> None:
    quotas = _quotas([("ann@example.com", dt.date(2026, 4, 1), dt.date(2026, 6, 30), Decimal(80))])
    result = _run(*worked_example, quotas=quotas)
    ann = {"scope": "owner", "scope_key": "ann@example.com"}
    assert result.value("quota_attainment", **ann)[Q2] == 1.25
    assert result.value("coverage", **ann)[Q2] is None
    needed = result.value("required_pipeline", **ann)[Q2]
    assert needed["covered"] is True and needed["amount"] == Decimal(0) and needed["deals"] == 0.0


def test_zero_quota_has_undefined_attainment(worked_example) -> None:
    quotas = _quotas([("ann@example.com", dt.date(2026, 4, 1), dt.date(2026, 6, 30), Decimal(0))])
    result = _run(*worked_example, quotas=quotas)
    assert result.value("quota_attainment", scope="owner", scope_key="ann@example.com")[Q2] is None


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (("ann@example.com", dt.date(2026, 6, 30), dt.date(2026, 4, 1), Decimal(1)), "ends before"),
        (
            ("ann@example.com", dt.date(2026, 4, 1), dt.date(2026, 6, 30), Decimal(-1)),
            "non-negative",
        ),
    ],
)
def test_bad_quotas_are_refused(worked_example, row, match) -> None:
    with pytest.raises(ValueError, match=match):
        _run(*worked_example, quotas=_quotas([row]))


def test_stale_deals_metric_from_flags(worked_example) -> None:
    flags = pd.DataFrame(
        {
            "deal_key": ["salesforce:C", "salesforce:A", "hubspot:gone"],
            "rules": ["stuck_in_stage;no_activity", "past_close_date", "no_activity"],
            "reason": ["x", "y", "z"],
        }
    )
    result = _run(*worked_example, flags=flags)
    stale = result.value("stale_deals")
    assert stale["count"] == 1  # A is closed, hubspot:gone is unknown
    assert stale["amount"] == Decimal(80)
    assert stale["share_count"] == 0.5
    assert stale["share_amount"] == pytest.approx(80 / 140)
    assert stale["rules"] == {
        "no_activity": {"count": 1, "amount": Decimal(80)},
        "stuck_in_stage": {"count": 1, "amount": Decimal(80)},
    }
    assert stale["stages"] == {"3": {"count": 1, "amount": Decimal(80)}}
    by_owner = result.value("stale_deals", scope="owner", scope_key="ann@example.com")
    assert by_owner["count"] == 1
    assert result.to_json_dict()["stale_deals"]["share_count"] == 0.5


def test_stale_deals_accepts_rule_lists(worked_example) -> None:
    flags = pd.DataFrame(
        {
            "deal_key": ["salesforce:C", "salesforce:D"],
            "rules": [["past_close_date"], ["past_close_date", "no_activity"]],
        }
    )
    stale = _run(*worked_example, flags=flags).value("stale_deals")
    assert stale["rules"]["past_close_date"] == {"count": 2, "amount": Decimal(140)}
    assert stale["share_amount"] == 1.0


def test_stale_deals_without_flags_is_null(worked_example) -> None:
    assert _run(*worked_example).value("stale_deals") is None
    assert _run(*worked_example).to_json_dict()["stale_deals"] is None
