"""The REST API under ``/api/v1``: public, tenant-scoped catalog reads and merchant writes with bearer tokens.

Its OpenAPI document is served at ``/api/v1/openapi.json`` (flask-smorest builds it from the schemas in
``schemas.py``). Errors are JSON problem details with stable codes, the same shape as the rest of the platform.
"""
