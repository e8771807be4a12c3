"""The resources every asset uses."""

from __future__ import annotations

import dagster as dg

from pipelines_etl.resources import CrmResource, WarehouseResource


@dg.definitions
def resources() -> dg.Definitions:
    """The warehouse and the CRM sources, bound from the environment at run time."""
    return dg.Definitions(resources={"warehouse": WarehouseResource(), "crm": CrmResource()})
