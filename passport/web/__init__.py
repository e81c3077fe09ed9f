"""The recycler's web admin, mounted at ``/app/``: it shows footprints and passports, so it lives in
the passport app (traceability never imports carbon or passport)."""
