"""OpportunityStage records: the ten standard stages of a new org, and how a stage derives
an Opportunity's IsClosed, IsWon, ForecastCategoryName and default Probability."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from connectors.sandbox.salesforce.schema import FORECAST_CATEGORY_API

# (label, default probability, forecast category name, is closed, is won), in sort order.
STANDARD_STAGES: tuple[tuple[str, int, str, bool, bool], ...] = (
    ("Prospecting", 10, "Pipeline", False, False),
    ("Qualification", 10, "Pipeline", False, False),
    ("Needs Analysis", 20, "Pipeline", False, False),
    ("Value Proposition", 50, "Pipeline", False, False),
    ("Id. Decision Makers", 60, "Pipeline", False, False),
    ("Perception Analysis", 70, "Pipeline", False, False),
    ("Proposal/Price Quote", 75, "Pipeline", False, False),
    ("Negotiation/Review", 90, "Pipeline", False, False),
    ("Closed Won", 100, "Closed", True, True),
    ("Closed Lost", 0, "Omitted", True, False),
)


def standard_stage_specs() -> list[dict[str, Any]]:
    """The standard stages in the fixture format of sandbox.md."""
    return [
        {
            "ApiName": label,
            "MasterLabel": label,
            "IsActive": True,
            "IsClosed": closed,
            "IsWon": won,
            "DefaultProbability": probability,
            "SortOrder": order,
            "ForecastCategoryName": category,
        }
        for order, (label, probability, category, closed, won) in enumerate(STANDARD_STAGES, 1)
    ]


def stage_record(
    spec: Mapping[str, Any], *, record_id: str, user_id: str, stamp: datetime
) -> dict[str, Any]:
    """An OpportunityStage record from a fixture-format spec."""
    category = spec.get("ForecastCategoryName") or (
        "Closed" if spec.get("IsWon") else "Omitted" if spec.get("IsClosed") else "Pipeline"
    )
    label = spec.get("MasterLabel") or spec["ApiName"]
    return {
        "Id": record_id,
        "MasterLabel": label,
        "ApiName": spec.get("ApiName") or label,
        "IsActive": bool(spec.get("IsActive", True)),
        "SortOrder": spec.get("SortOrder"),
        "IsClosed": bool(spec.get("IsClosed", False)),
        "IsWon": bool(spec.get("IsWon", False)),
        "ForecastCategory": FORECAST_CATEGORY_API[category],
        "ForecastCategoryName": category,
        "DefaultProbability": (
            float(spec["DefaultProbability"])
            if spec.get("DefaultProbability") is not None
            else None
        ),
        "Description": spec.get("Description"),
        "CreatedById": user_id,
        "CreatedDate": stamp,
        "LastModifiedById": user_id,
        "LastModifiedDate": stamp,
        "SystemModstamp": stamp,
    }


def derived_from_stage(stage: Mapping[str, Any]) -> dict[str, Any]:
    """The Opportunity fields a stage sets: IsClosed, IsWon, ForecastCategory(Name), Probability."""
    return {
        "IsClosed": stage["IsClosed"],
        "IsWon": stage["IsWon"],
        "ForecastCategoryName": stage["ForecastCategoryName"],
        "ForecastCategory": stage["ForecastCategory"],
        "Probability": stage["DefaultProbability"],
    }
