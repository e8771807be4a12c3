"""The nightly sync: raw extracts per source -> deals and stays -> snapshots, with checks."""
