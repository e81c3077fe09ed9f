"""Names people read for the footprint methods and chains of custody of ``carbon.engine.model``."""

METHOD_NAMES = {"cut_off": "Cut-off", "allocation": "Allocation", "cff": "Circular Footprint Formula"}
CHAIN_NAMES = {"physical": "Physical", "mass_balance": "Mass balance"}
