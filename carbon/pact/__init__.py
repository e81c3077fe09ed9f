"""PACT (WBCSD Pathfinder) product footprint exchange, versions 2.3 and 3.0.

Outbound: ``/auth/token``, ``/2/`` and ``/3/`` serve the footprints of lots, parts and
batteries computed by the carbon workers. Inbound: a partner's footprint can be pulled
over PACT and bound to an external input lot as its ``supplier_footprint`` factor.
"""
