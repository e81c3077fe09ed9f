"""Looptrace benchmarks: ``python -m bench [--only NAME]`` (see ``bench/__main__.py``)."""
