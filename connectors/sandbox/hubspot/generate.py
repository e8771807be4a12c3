"""A generated portal, the same for the same seed and day: owners, companies, deals.

Timestamps are anchored at today's midnight UTC so that open deals look current and stale
deals look stale whenever the sandbox runs; all of them lie before the anchor, spread out
(no stamp is pushed against it, so an incremental sync's lookback window stays thin).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.hubspot.catalog import (
    FLAG_PROPERTIES,
    PORTAL_CREATED_AT,
    custom_property,
    default_pipeline,
    renewals_pipeline,
    standard_properties,
)
from connectors.sandbox.hubspot.derive import StageEntry, closing_properties, stage_date_properties
from connectors.sandbox.hubspot.state import Company, Deal, HubSpotState
from connectors.sandbox.hubspot.values import iso_ms

DAY = 86_400_000
_FIRST = (
    "Ann",
    "Ben",
    "Chloe",
    "Dev",
    "Elif",
    "Femi",
    "Greta",
    "Hiro",
    "Ines",
    "Jonas",
    "Kemal",
    "Lena",
    "Mateo",
    "Nora",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Sven",
    "Tara",
    "Umar",
    "Vera",
)
_LAST = (
    "Lee",
    "Okafor",
    "Novak",
    "Schmidt",
    "Garcia",
    "Tanaka",
    "Dubois",
    "Rossi",
    "Silva",
    "Nguyen",
    "Kowalski",
    "Haddad",
    "Berg",
    "Moreau",
    "Patel",
    "Costa",
    "Weber",
    "Ali",
)
_WORDS = (
    "North",
    "Blue",
    "Bright",
    "Iron",
    "Cedar",
    "Delta",
    "Nova",
    "Summit",
    "Harbor",
    "Pixel",
    "Quantum",
    "River",
    "Atlas",
    "Pine",
    "Vertex",
    "Lumen",
    "Orbit",
    "Granite",
    "Echo",
    "Maple",
)
_KINDS = (
    "Labs",
    "Systems",
    "Logistics",
    "Foods",
    "Health",
    "Energy",
    "Media",
    "Capital",
    "Robotics",
    "Retail",
    "Analytics",
    "Works",
)
_INDUSTRIES = (
    "COMPUTER_SOFTWARE",
    "HOSPITAL_HEALTH_CARE",
    "FINANCIAL_SERVICES",
    "RETAIL",
    "LOGISTICS_AND_SUPPLY_CHAIN",
    "FOOD_PRODUCTION",
    "RENEWABLES_ENVIRONMENT",
    "MARKETING_AND_ADVERTISING",
)
_COUNTRIES = (
    "United States",
    "Germany",
    "United Kingdom",
    "France",
    "Netherlands",
    "Spain",
    "Canada",
    "Sweden",
    "Japan",
    "Brazil",
)
_PRODUCTS = (
    "Platform licence",
    "Pilot",
    "Expansion",
    "Support plan",
    "Onboarding",
    "Add-on seats",
    "Enterprise tier",
    "Data package",
)
_SOURCES = (
    "ORGANIC_SEARCH",
    "PAID_SEARCH",
    "EMAIL_MARKETING",
    "SOCIAL_MEDIA",
    "REFERRALS",
    "DIRECT_TRAFFIC",
    "OFFLINE",
)


def _anchor_ms() -> int:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return int(today.timestamp() * 1000)


def _owners(rng: random.Random, count: int) -> list[dict[str, Any]]:
    owners = []
    for index in range(count):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        owners.append(
            {
                "id": str(70_000_000 + index * 17),
                "email": f"{first.lower()}.{last.lower()}{index}@example.com",
                "firstName": first,
                "lastName": last,
                "userId": 9_000_000 + index,
                "userIdIncludingInactive": 9_000_000 + index,
                "type": "PERSON",
                "createdAt": PORTAL_CREATED_AT,
                "updatedAt": PORTAL_CREATED_AT,
                "archived": False,
                "teams": [{"id": "1", "name": "Sales", "primary": True}],
            }
        )
    return owners


def _companies(rng: random.Random, count: int, anchor: int) -> list[Company]:
    companies = []
    for index in range(count):
        name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_KINDS)}"
        created = iso_ms(anchor - rng.randrange(400, 1500) * DAY)
        company_id = str(9_000_000_000 + index * 11)
        props = {
            "name": name,
            "domain": name.lower().replace(" ", "") + ".example",
            "industry": rng.choice(_INDUSTRIES),
            "country": rng.choice(_COUNTRIES),
            "createdate": created,
            "hs_lastmodifieddate": created,
            "hs_object_id": company_id,
        }
        companies.append(Company(company_id, props, created, created))
    return companies


def _path(rng: random.Random, open_stages: list[str], won: str, lost: str) -> tuple[list[str], str]:
    """The stages a deal went through, and its outcome (open / won / lost)."""
    roll = rng.random()
    kept = [s for i, s in enumerate(open_stages) if i == 0 or rng.random() > 0.15]
    if roll < 0.55:
        path, outcome = kept[: rng.randrange(len(kept)) + 1], "open"
    elif roll < 0.75:
        path, outcome = [*kept, won], "won"
    else:
        path, outcome = [*kept[: rng.randrange(len(kept)) + 1], lost], "lost"
    if len(path) >= 3 and rng.random() < 0.05:  # went back one stage and forward again
        j = rng.randrange(1, len(path) - 1)
        path = [*path[: j + 1], path[j - 1], path[j], *path[j + 1 :]]
    return path, outcome


def _amount(rng: random.Random) -> str | None:
    if rng.random() < 0.04:
        return None
    value = rng.lognormvariate(9.0, 1.1)
    return f"{value:.2f}" if rng.random() < 0.2 else str(max(10, round(value / 10) * 10))


def generate_state(*, deals: int, seed: int) -> HubSpotState:
    """A portal with `deals` deals, reproducible from `seed` (for the same day)."""
    rng = random.Random(seed)
    anchor = _anchor_ms()
    pipelines = [default_pipeline(), renewals_pipeline()]
    stage_defs = {s["id"]: s for p in pipelines for s in p["stages"]}
    closing = {stage_id: closing_properties(stage) for stage_id, stage in stage_defs.items()}
    shapes = {}
    for pipeline in pipelines:
        stages = [s["id"] for s in pipeline["stages"]]
        won = next(
            s["id"] for s in pipeline["stages"] if closing[s["id"]]["hs_is_closed_won"] == "true"
        )
        lost = next(
            s["id"] for s in pipeline["stages"] if closing[s["id"]]["hs_is_closed_lost"] == "true"
        )
        shapes[pipeline["id"]] = ([s for s in stages if s not in (won, lost)], won, lost)
    properties = standard_properties(pipelines)
    for name, label, type_, field_type in FLAG_PROPERTIES:
        properties[name] = custom_property(
            name=name, label=label, type_=type_, field_type=field_type
        )
    owners = _owners(rng, max(5, min(300, deals // 400 + 5)))
    owner_ids = [owner["id"] for owner in owners]
    companies = _companies(rng, max(10, deals // 5), anchor)
    result: list[Deal] = []
    next_id = 20_000_000_000
    for _ in range(deals):
        next_id += rng.randrange(1, 14)
        deal_id = str(next_id)
        renewal = rng.random() < 0.2
        pipeline_id = "renewals" if renewal else "default"
        open_stages, won, lost = shapes[pipeline_id]
        path, outcome = _path(rng, open_stages, won, lost)
        stale = outcome == "open" and rng.random() < 0.25
        created = anchor - rng.randrange(
            2 * DAY, (150 if outcome == "open" and not stale else 720) * DAY
        )
        if outcome != "open":
            end = min(created + rng.randrange(5 * DAY, 200 * DAY), anchor - DAY)
        elif stale:
            end = max(created + DAY, anchor - rng.randrange(45 * DAY, 300 * DAY))
        else:
            end = max(created + 3_600_000, anchor - rng.randrange(0, 20 * DAY))
        end = min(end, anchor - 60_000)
        created = min(created, end)
        middle = sorted(created + int(rng.random() * (end - created)) for _ in path[2:])
        stamps = [created, *middle, end][: len(path)]
        history: list[StageEntry] = [
            (stage, ms, "CRM_UI") for stage, ms in zip(path, stamps, strict=True)
        ]
        last = stamps[-1]
        texts = [iso_ms(ms) for ms in stamps]
        company = rng.choice(companies) if rng.random() < 0.92 else None
        props: dict[str, str] = {
            "dealname": f"{company.props['name'] if company else rng.choice(_WORDS) + ' deal'}"
            f" - {rng.choice(_PRODUCTS)}",
            "dealstage": path[-1],
            "pipeline": pipeline_id,
            "createdate": texts[0],
            "hubspot_owner_id": rng.choice(owner_ids),
            "hs_object_id": deal_id,
            "dealtype": "existingbusiness" if renewal or rng.random() < 0.15 else "newbusiness",
            "hs_analytics_source": rng.choice(_SOURCES),
        }
        amount = _amount(rng)
        if amount is not None:
            props["amount"] = amount
        currency_roll = rng.random()
        props["deal_currency_code"] = (
            "EUR" if currency_roll < 0.14 else "GBP" if currency_roll < 0.22 else "USD"
        )
        if outcome != "open":
            props["closedate"] = texts[-1]
        elif rng.random() < 0.1:
            props["closedate"] = iso_ms(anchor - rng.randrange(8, 90) * DAY)
        else:
            props["closedate"] = iso_ms(anchor + rng.randrange(1, 150) * DAY)
        activity = 0
        if rng.random() < 0.88:  # some time after the last stage change, never past today
            span = min(anchor - 1000 - last, 3 * DAY if stale or outcome != "open" else anchor)
            activity = last + int(rng.random() * max(span, 0))
            props["notes_last_updated"] = iso_ms(activity)
            if rng.random() < 0.7:
                props["hs_last_sales_activity_timestamp"] = iso_ms(
                    max(created, activity - rng.randrange(0, DAY))
                )
        if stale and rng.random() < 0.4:
            props["pipeline_stale"] = "true"
            props["pipeline_stale_reason"] = (
                f"stuck_in_stage: {(anchor - last) // DAY} days in "
                f"{stage_defs[path[-1]]['label']} (threshold 30)"
            )
            props["pipeline_stale_since"] = iso_ms(anchor - rng.randrange(1, 30) * DAY)[:10]
        elif rng.random() < 0.04:
            props["pipeline_stale"] = "false"
        if rng.random() < 0.6:
            props["hs_priority"] = rng.choice(("low", "medium", "high"))
        props.update(closing[path[-1]])
        props.update(stage_date_properties(history, texts))
        touched = max(last, activity)  # edited within the hour after, and before today
        modified = touched + int(rng.random() * max(min(3_600_000, anchor - 1 - touched), 0))
        props["hs_lastmodifieddate"] = iso_ms(modified)
        deal = Deal(
            deal_id,
            props,
            history,
            (company.id,) if company else (),
            created_at=props["createdate"],
            modified_ms=modified,
        )
        if rng.random() < 0.03:
            deal.archived = True
            room = max(min(2 * DAY, anchor - 1 - modified), 0)  # archived within two days
            deal.archived_at = iso_ms(modified + int(rng.random() * room))
        result.append(deal)
    return HubSpotState(
        pipelines=pipelines, properties=properties, owners=owners, companies=companies, deals=result
    )
