"""Stale deals: nightly detection (`stale_deals`), and the separate flag push job."""
