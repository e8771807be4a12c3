"""Local stand-ins for the Salesforce and HubSpot APIs, served over HTTPS on 127.0.0.1.

See `../shared/spec/sandbox.md`. `server.py` owns transport, TLS, faults and the write log;
`salesforce/` and `hubspot/` each implement `api.SandboxApi` for one CRM.
"""
