"""Generated Salesforce orgs: users, accounts, stages, currencies, opportunities and their
history, the same for the same seed and anchor day.

Draws are vectorised with numpy; records are built as dicts at the end, except
OpportunityHistory (four times larger than Opportunity), which stays as numpy columns whose
rows are built when read (history.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from connectors.sandbox.salesforce.history import HistoryColumns, HistoryTable, StageRow
from connectors.sandbox.salesforce.ids import counter_of
from connectors.sandbox.salesforce.schema import (
    LEAD_SOURCES,
    OPPORTUNITY_TYPES,
    stale_flag_fields,
    standard_objects,
)
from connectors.sandbox.salesforce.stages import STANDARD_STAGES, stage_record, standard_stage_specs
from connectors.sandbox.salesforce.state import OrgState, Record, paused_gc

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_MS = 86_400_000
# (iso code, conversion rate per 1 USD, decimal places)
CURRENCIES: tuple[tuple[str, float, int], ...] = (
    ("USD", 1.0, 2),
    ("EUR", 0.92, 2),
    ("GBP", 0.79, 2),
    ("JPY", 151.3, 0),
)
_COUNTRIES = (
    ("United States", "USD", 0.5),
    ("Canada", "USD", 0.06),
    ("Germany", "EUR", 0.1),
    ("France", "EUR", 0.07),
    ("Netherlands", "EUR", 0.04),
    ("United Kingdom", "GBP", 0.12),
    ("Japan", "JPY", 0.06),
    ("Australia", "USD", 0.05),
)
_FIRST = (
    "Ann",
    "Ben",
    "Chloe",
    "David",
    "Elena",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quinn",
    "Rosa",
    "Sam",
    "Tariq",
)
_LAST = (
    "Lee",
    "Martin",
    "Okafor",
    "Schmidt",
    "Rossi",
    "Tanaka",
    "Novak",
    "Silva",
    "Dubois",
    "Kowalski",
    "Haddad",
    "Berg",
    "Moreau",
    "Ito",
    "Walsh",
    "Cohen",
    "Fischer",
    "Young",
)
_WORDS = (
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Cyberdyne",
    "Tyrell",
    "Wonka",
    "Gringotts",
    "Aperture",
    "Oscorp",
    "Monarch",
    "Nakatomi",
    "Pied Piper",
    "Massive",
    "Dunder",
)
_KINDS = ("Corp", "Inc", "GmbH", "Ltd", "Group", "Labs", "Systems", "Holdings", "AG", "KK")
_INDUSTRIES = (
    "Technology",
    "Manufacturing",
    "Finance",
    "Healthcare",
    "Retail",
    "Energy",
    "Education",
    "Media",
    "Transportation",
    "Government",
)
_PRODUCTS = ("Licenses", "Seats", "Units", "Support Plan", "Implementation", "Subscription")
_TIMEZONES = (
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tokyo",
)
_OPEN_WEIGHTS = np.array([0.2, 0.17, 0.15, 0.13, 0.11, 0.09, 0.09, 0.06])
_TYPE_WEIGHTS = np.array([0.5, 0.18, 0.05, 0.05, 0.22])
_SOURCE_WEIGHTS = np.array([0.3, 0.15, 0.2, 0.1, 0.1, 0.15])  # last: null


def default_anchor() -> datetime:
    """Midnight UTC today: generated data is the same for a seed all day long."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _stamps(ms: np.ndarray) -> list[datetime]:
    """Milliseconds since the epoch as aware datetimes."""
    return [_EPOCH + timedelta(milliseconds=value) for value in ms.tolist()]


def _days(day_numbers: np.ndarray) -> list[date]:
    """Days since the epoch as dates (one shared object per distinct day)."""
    cache: dict[int, date] = {}
    out = []
    for value in day_numbers.tolist():
        found = cache.get(value)
        if found is None:
            found = cache[value] = date(1970, 1, 1) + timedelta(days=value)
        out.append(found)
    return out


def _choice(
    rng: np.random.Generator, values: tuple[Any, ...], size: int, weights: np.ndarray | None = None
) -> np.ndarray:
    """Indexes into `values`, drawn with `weights`."""
    p = None if weights is None else weights / weights.sum()
    return rng.choice(len(values), size=size, p=p)


def generate(*, deals: int, seed: int, anchor: datetime | None = None) -> OrgState:
    """A multi-currency org with `deals` opportunities, reproducible from `seed` and `anchor`."""
    if deals < 0:
        raise ValueError("deals must be >= 0")
    with paused_gc():
        return _generate(deals=deals, seed=seed, anchor=anchor or default_anchor())


def _generate(*, deals: int, seed: int, anchor: datetime) -> OrgState:
    """`generate` with the collector paused."""
    rng = np.random.default_rng(seed)
    anchor_ms = int((anchor - _EPOCH) / timedelta(milliseconds=1))
    org_ms = anchor_ms - 4 * 365 * _DAY_MS
    state = OrgState(
        objects=standard_objects(
            multi_currency=True,
            custom_fields=stale_flag_fields(),
            stage_names=[s[0] for s in STANDARD_STAGES],
            currency_codes=[c[0] for c in CURRENCIES],
        ),
        multi_currency=True,
    )
    org_stamp = _EPOCH + timedelta(milliseconds=org_ms)
    users = _users(state, rng, deals=deals, org_ms=org_ms)
    admin = users[0]["Id"]
    state.api_user_id = admin
    stage_ids = state.reserve_ids("01J", len(STANDARD_STAGES))
    state.tables["OpportunityStage"] = {
        sid: stage_record(spec, record_id=sid, user_id=admin, stamp=org_stamp)
        for sid, spec in zip(stage_ids, standard_stage_specs(), strict=True)
    }
    currency_ids = state.reserve_ids("02B", len(CURRENCIES))
    state.tables["CurrencyType"] = {
        cid: {
            "Id": cid,
            "IsoCode": code,
            "ConversionRate": rate,
            "DecimalPlaces": places,
            "IsActive": True,
            "IsCorporate": code == "USD",
            "CreatedById": admin,
            "CreatedDate": org_stamp,
            "LastModifiedById": admin,
            "LastModifiedDate": org_stamp,
            "SystemModstamp": org_stamp,
        }
        for cid, (code, rate, places) in zip(currency_ids, CURRENCIES, strict=True)
    }
    accounts, account_currency = _accounts(state, rng, deals=deals, users=users, org_ms=org_ms)
    _opportunities(
        state,
        rng,
        deals=deals,
        users=users,
        accounts=accounts,
        account_currency=account_currency,
        anchor_ms=anchor_ms,
    )
    state.clock.advance_past(anchor)
    return state


def _users(state: OrgState, rng: np.random.Generator, *, deals: int, org_ms: int) -> list[Record]:
    """Sales users: a few managers, reps reporting to them, some inactive."""
    count = int(np.clip(deals // 2000 + 8, 8, 400))
    ids = state.reserve_ids("005", count)
    first = _choice(rng, _FIRST, count)
    last = _choice(rng, _LAST, count)
    active = rng.random(count) >= 0.1
    active[:4] = True
    active[-1] = count <= 4  # at least one former rep
    managers = min(3, count)
    created = _stamps(org_ms + rng.integers(0, 200 * _DAY_MS, count))
    rows = []
    for i, uid in enumerate(ids):
        first_name, last_name = _FIRST[first[i]], _LAST[last[i]]
        login = f"{first_name}.{last_name}{i}".lower()
        rows.append(
            {
                "Id": uid,
                "Username": f"{login}@sandbox.example",
                "LastName": last_name,
                "FirstName": first_name,
                "Name": f"{first_name} {last_name}",
                "Email": f"{login}@example.com",
                "IsActive": bool(active[i]),
                "UserType": "Standard",
                "Title": "Sales Manager" if i < managers else "Account Executive",
                "Department": "Sales",
                "ManagerId": None if i < managers else ids[i % managers],
                "TimeZoneSidKey": _TIMEZONES[i % len(_TIMEZONES)],
                "CreatedById": ids[0],
                "CreatedDate": created[i],
                "LastModifiedById": ids[0],
                "LastModifiedDate": created[i],
                "SystemModstamp": created[i],
            }
        )
    state.tables["User"] = {row["Id"]: row for row in rows}
    return rows


def _accounts(
    state: OrgState, rng: np.random.Generator, *, deals: int, users: list[Record], org_ms: int
) -> tuple[list[Record], np.ndarray]:
    """Customer and prospect accounts across countries (and so currencies)."""
    count = int(np.clip(deals // 8 + 5, 5, 60_000))
    ids = state.reserve_ids("001", count)
    country = _choice(rng, _COUNTRIES, count, np.array([c[2] for c in _COUNTRIES]))
    words = _choice(rng, _WORDS, count)
    kinds = _choice(rng, _KINDS, count)
    industry = _choice(rng, _INDUSTRIES, count)
    owner = rng.integers(0, len(users), count)
    employees = np.round(rng.lognormal(5.0, 1.6, count)).astype(int) + 1
    created = _stamps(org_ms + rng.integers(0, 365 * _DAY_MS, count))
    iso = [c[0] for c in CURRENCIES]
    codes = np.array([iso.index(code) for _, code, _ in _COUNTRIES])
    rows = []
    for i, aid in enumerate(ids):
        rows.append(
            {
                "Id": aid,
                "IsDeleted": False,
                "Name": f"{_WORDS[words[i]]} {_KINDS[kinds[i]]} {i + 1}",
                "Type": "Customer" if i % 3 else "Prospect",
                "Industry": _INDUSTRIES[industry[i]],
                "BillingCountry": _COUNTRIES[country[i]][0],
                "NumberOfEmployees": int(employees[i]),
                "CurrencyIsoCode": _COUNTRIES[country[i]][1],
                "OwnerId": users[owner[i]]["Id"],
                "CreatedById": users[0]["Id"],
                "CreatedDate": created[i],
                "LastModifiedById": users[0]["Id"],
                "LastModifiedDate": created[i],
                "SystemModstamp": created[i],
            }
        )
    state.tables["Account"] = {row["Id"]: row for row in rows}
    return rows, codes[country]


def _opportunities(
    state: OrgState,
    rng: np.random.Generator,
    *,
    deals: int,
    users: list[Record],
    accounts: list[Record],
    account_currency: np.ndarray,
    anchor_ms: int,
) -> None:
    """Opportunities over stages, and the OpportunityHistory of their stage paths."""
    n = deals
    stages = list(state.table("OpportunityStage").values())
    # Ages sorted oldest first, so that ids grow with CreatedDate as in a real org.
    age_ms = np.sort(rng.uniform(2, 3 * 365, n))[::-1] * _DAY_MS
    created_ms = (anchor_ms - age_ms).astype(np.int64)
    age_days = age_ms / _DAY_MS
    account = rng.integers(0, len(accounts), n)
    currency = account_currency[account]
    user_ids = [u["Id"] for u in users]
    user_index = {uid: i for i, uid in enumerate(user_ids)}
    account_owner = np.array([user_index[a["OwnerId"]] for a in accounts], dtype=np.int64)
    owner = np.where(rng.random(n) < 0.7, account_owner[account], rng.integers(0, len(users), n))

    closed = rng.random(n) < np.clip(age_days / 240, 0.05, 0.9)
    won = closed & (rng.random(n) < 0.42)
    open_stage = _choice(rng, tuple(range(8)), n, _OPEN_WEIGHTS)
    won_top = 4 + _choice(rng, tuple(range(4)), n, np.array([0.1, 0.2, 0.3, 0.4]))
    lost_top = rng.integers(0, 8, n)
    top = np.where(~closed, open_stage, np.where(won, won_top, lost_top))
    current = np.where(~closed, open_stage, np.where(won, 8, 9))
    start = np.minimum(np.where(rng.random(n) < 0.75, 0, 1), top)
    cols = np.arange(8)[None, :]
    include = ((cols < top[:, None]) & (rng.random((n, 8)) < 0.4)) | (cols == top[:, None])
    include |= cols == start[:, None]
    include &= cols <= top[:, None]
    include = np.concatenate([include, closed[:, None]], axis=1)
    length = include.sum(axis=1)

    # Time of the last stage change: closed deals closed some weeks after creation; open deals
    # entered their stage recently, or long ago for stale ones.
    stale = ~closed & (rng.random(n) < 0.18)
    in_stage = np.where(stale, rng.uniform(75, 400, n), rng.exponential(18, n))
    duration = rng.uniform(7, 200, n)
    last_ms = np.where(
        closed,
        created_ms + np.minimum(duration, 0.95 * age_days) * _DAY_MS,
        anchor_ms - np.minimum(in_stage, 0.9 * age_days) * _DAY_MS,
    ).astype(np.int64)
    last_ms = np.where(length == 1, created_ms, last_ms)

    today = anchor_ms // _DAY_MS
    close_day = np.where(closed, last_ms // _DAY_MS, today + rng.integers(-45, 200, n))
    activity_day = np.where(
        closed,
        last_ms // _DAY_MS - rng.integers(0, 10, n),
        np.where(
            stale,
            today - rng.integers(60, 365, n),
            today - np.minimum(rng.exponential(8, n), 300).astype(np.int64),
        ),
    )
    activity_day = np.maximum(activity_day, created_ms // _DAY_MS)
    no_activity = rng.random(n) < 0.08
    modified_ms = _last_modified(rng, last_ms=last_ms, closed=closed, anchor_ms=anchor_ms)
    deleted = rng.random(n) < 0.02
    modstamp_ms = np.where(
        deleted, np.maximum(anchor_ms - rng.integers(1, 10 * _DAY_MS, n), modified_ms), modified_ms
    )

    rates = np.array([c[1] for c in CURRENCIES])
    places = np.array([c[2] for c in CURRENCIES])
    usd = np.clip(rng.lognormal(np.log(12_000), 1.25, n), 500, 5_000_000)
    amount = np.round(usd * rates[currency], 2)
    amount = np.where(places[currency] == 0, np.round(amount, -3), amount)
    no_amount = rng.random(n) < 0.03
    first_factor = np.where(rng.random(n) < 0.35, rng.uniform(0.6, 1.4, n), 1.0)
    lead = _choice(rng, (*LEAD_SOURCES, None), n, _SOURCE_WEIGHTS)
    kind = _choice(rng, OPPORTUNITY_TYPES, n, _TYPE_WEIGHTS)
    product = _choice(rng, _PRODUCTS, n)
    quantity = rng.integers(1, 500, n)

    ids = state.reserve_ids("006", n)
    created = _stamps(created_ms)
    last_change = _stamps(last_ms)
    modified = _stamps(modified_ms)
    modstamp = [
        m if d == m_ms else s
        for m, s, d, m_ms in zip(
            modified, _stamps(modstamp_ms), modstamp_ms.tolist(), modified_ms.tolist(), strict=True
        )
    ]
    close_dates = _days(close_day)
    activity = _days(activity_day)
    codes = [c[0] for c in CURRENCIES]
    rows: dict[str, Record] = {}
    for i, oid in enumerate(ids):
        stage = stages[current[i]]
        value = None if no_amount[i] else float(amount[i])
        probability = stage["DefaultProbability"]
        rows[oid] = {
            "Id": oid,
            "IsDeleted": bool(deleted[i]),
            "AccountId": accounts[account[i]]["Id"],
            "RecordTypeId": None,
            "Name": f"{accounts[account[i]]['Name']} - {quantity[i]} {_PRODUCTS[product[i]]}",
            "Description": None,
            "StageName": stage["MasterLabel"],
            "Amount": value,
            "Probability": probability,
            "ExpectedRevenue": None if value is None else round(value * probability / 100, 2),
            "CloseDate": close_dates[i],
            "Type": OPPORTUNITY_TYPES[kind[i]],
            "NextStep": None,
            "LeadSource": (*LEAD_SOURCES, None)[lead[i]],
            "IsClosed": stage["IsClosed"],
            "IsWon": stage["IsWon"],
            "ForecastCategory": stage["ForecastCategory"],
            "ForecastCategoryName": stage["ForecastCategoryName"],
            "CurrencyIsoCode": codes[currency[i]],
            "OwnerId": user_ids[owner[i]],
            "CreatedById": user_ids[owner[i]],
            "CreatedDate": created[i],
            "LastModifiedById": user_ids[owner[i]],
            "LastModifiedDate": modified[i],
            "SystemModstamp": modstamp[i],
            "LastActivityDate": None if no_activity[i] else activity[i],
            "LastStageChangeDate": last_change[i],
            "Pipeline_Stale__c": False,
            "Pipeline_Stale_Reason__c": None,
            "Pipeline_Stale_Since__c": None,
        }
    state.tables["Opportunity"] = rows

    state.tables["OpportunityHistory"] = HistoryTable(  # type: ignore[assignment]
        _history_columns(
            state,
            rng,
            ids=ids,
            include=include,
            current=current,
            created_ms=created_ms,
            last_ms=last_ms,
            close_day=close_day,
            closed=closed,
            per_opportunity={
                "amount": np.where(no_amount, np.nan, amount),
                "first_factor": first_factor,
                "decimals": places[currency].astype(np.int8),
                "owner": owner.astype(np.int32),
                "currency": currency.astype(np.int8),
            },
            user_ids=user_ids,
            currency_codes=codes,
        ),
        deleted=deleted,
    )


def _last_modified(
    rng: np.random.Generator, *, last_ms: np.ndarray, closed: np.ndarray, anchor_ms: int
) -> np.ndarray:
    """When each opportunity was last edited, at or after its last stage change and before
    the anchor: closed ones within two days of closing, open ones some time since their
    stage change, mostly soon after it (the cube of a uniform draw of the time since), so
    that most were last modified days to months ago and only a few in the last hours; no
    stamp is pushed against the anchor (an incremental sync's overlap window stays thin)."""
    n = last_ms.size
    room = np.maximum(anchor_ms - 1 - last_ms, 0).astype(np.float64)
    fraction = np.where(closed, rng.random(n), rng.random(n) ** 3)
    reach = np.where(closed, np.minimum(room, 2 * _DAY_MS), room)
    return last_ms + (fraction * reach).astype(np.int64)


def _history_columns(
    state: OrgState,
    rng: np.random.Generator,
    *,
    ids: list[str],
    include: np.ndarray,
    current: np.ndarray,
    created_ms: np.ndarray,
    last_ms: np.ndarray,
    close_day: np.ndarray,
    closed: np.ndarray,
    per_opportunity: dict[str, np.ndarray],
    user_ids: list[str],
    currency_codes: list[str],
) -> HistoryColumns:
    """OpportunityHistory along each opportunity's stage path, as columns: one row per
    included stage (column 8 is the closing stage), times spread between creation and the
    last stage change, some close dates slipping before the final one."""
    history_rng = np.random.default_rng(int(rng.integers(0, 2**32)))
    opp, col = np.nonzero(include)
    total = opp.size
    stage_index = np.where(col == 8, current[opp], col)
    first = np.r_[True, opp[1:] != opp[:-1]] if total else np.zeros(0, dtype=bool)
    last = np.r_[opp[1:] != opp[:-1], True] if total else np.zeros(0, dtype=bool)
    fraction = history_rng.random(total)
    fraction[first] = 0.0
    fraction[last] = 1.0
    # Each opportunity's fractions in ascending order (a lexsort by (opp, fraction), 5x faster
    # as one sort per row of the include matrix, absent stages sorting last as +inf).
    by_row = np.full(include.shape, np.inf)
    by_row[include] = fraction
    by_row.sort(axis=1)
    fraction = by_row[np.arange(include.shape[1])[None, :] < include.sum(axis=1)[:, None]]
    del by_row
    start_ms = created_ms[opp]
    at_ms = (start_ms + fraction * (last_ms[opp] - start_ms)).astype(np.int64)
    final_close = close_day[opp]
    slipped = ~last & (history_rng.random(total) < 0.3)
    slip = history_rng.integers(7, 60, total)
    row_close = np.where(
        slipped, np.where(closed[opp], final_close + slip, final_close - slip), final_close
    )
    stages = [
        StageRow(row["MasterLabel"], row["DefaultProbability"], row["ForecastCategory"])
        for row in state.table("OpportunityStage").values()
    ]
    return HistoryColumns(
        id_start=state.reserve_counter("008", total),
        opportunity_ids=ids,
        opportunity_start=int(counter_of(ids[0], "006") or 0) if ids else 0,
        starts=np.searchsorted(opp, np.arange(len(ids) + 1)).astype(np.int64),
        opportunity=opp.astype(np.int32),
        stage=stage_index.astype(np.int8),
        at_ms=at_ms,
        close_day=row_close.astype(np.int32),
        user_ids=user_ids,
        currency_codes=currency_codes,
        stages=stages,
        **per_opportunity,
    )
