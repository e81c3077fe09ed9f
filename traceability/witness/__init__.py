"""A C2SP tlog-witness that a regulator or a partner runs with its own key: ``python -m traceability.witness``."""
