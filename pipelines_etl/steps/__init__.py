"""The steps of the nightly sync, shared by the CLI and the Dagster assets."""
