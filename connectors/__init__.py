"""CRM connectors: one module per CRM, each exposing the protocol of `connectors.base`."""
