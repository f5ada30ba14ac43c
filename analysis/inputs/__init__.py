"""Inputs: what the model reads, validated before anything runs.

The data rows and distributions (`specs`), the catalog of data/ (`catalog`), scenarios and every
check a scenario must pass (`scenario`), the bounds and checks that need no pydantic (`limits`), and
safe YAML reading (`yamlio`). Imports only the base modules (paths, errors, constants, cache).
"""
