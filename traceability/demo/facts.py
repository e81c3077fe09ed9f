"""The numbers of the demo loop: domain facts with their sources in ``shared/seeds`` (``file:line``),
then the demo's own assumptions, marked as such."""

from __future__ import annotations

from decimal import Decimal

GRAM = Decimal("0.001")
Composition = dict[str, float]

# --- domain facts, with their sources ------------------------------------------------------

# Service life of a traction battery: about 5-8 years (003:323); the vehicles scrapped now
# were built that long ago.
SERVICE_LIFE_YEARS = (5, 8)
# LFP suits reuse, NMC suits recycling (003:699-703). The SoH threshold is the demo's
# assumption of a usual second-life acceptance criterion.
SECOND_LIFE_CHEMISTRY = "LFP"
SECOND_LIFE_MIN_SOH_PCT = 80.0
# State of health at end of vehicle life: LFP capacity declines slowly (about 4,000 cycles),
# NMC lasts 2,000 cycles or fewer (003:717-723); the ranges are assumptions within 60-95 %.
STATE_OF_HEALTH_PCT = {"LFP": (70.0, 95.0), "NMC": (60.0, 88.0)}
# Brunp recovery rates: Ni/Co/Mn 99.3 %, Li 90 % (003:1409-1414).
RECOVERY = {"Ni": Decimal("0.993"), "Co": Decimal("0.993"), "Mn": Decimal("0.993"), "Li": Decimal("0.90")}

# Burn (melt) loss (004:354): about 2 % in secondary smelting (melts cast into ingots),
# about 0.9 % when the metal goes to the die-caster molten, 2-2.5 % when a die-caster
# remelts ingots.
MELT_LOSS_INGOT_ROUTE = Decimal("0.020")
MELT_LOSS_MOLTEN_ROUTE = Decimal("0.009")
MELT_LOSS_REMELTING_INGOTS = Decimal("0.0225")
# Energy per tonne melted: 70-90 m3 natural gas and 90-100 kWh electricity (004:354).
NATURAL_GAS_M3_PER_T = (70.0, 90.0)
ELECTRICITY_KWH_PER_T = (90.0, 100.0)
# Molten delivery: above 700 C (004:356), best over 30-50 km (004:384).
MOLTEN_TEMPERATURE_C = (715.0, 760.0)
MOLTEN_DISTANCE_KM = Decimal("38")
# Thin-wall integrated die-castings need Fe < 0.12 % (004:273; the "thin-wall-structural"
# alloy specification row). The remelter plans its charge for a little less, as margin.
TARGET_ALLOY = "thin-wall-structural"
CHARGE_TARGET = {"Fe": 0.110, "Si": 10.0, "Mg": 0.30}
# Primary ingot from coal-powered regions has about five times the carbon footprint of
# hydropower-based primary (002:590): the demo buys from one smelter of each.
PRIMARY_POWER_SOURCES = ("hydro", "coal")

# --- assumptions of the demo (typical values, not in the seeds) -----------------------------

DEMO_SEED = 34014
DEMO_DAYS = 60
# Typical assays in mass %: scrap 0.10-0.15 % Fe, primary about 0.07 % Fe.
ALLOYS: dict[str, Composition] = {
    "A356.2": {"Si": 7.0, "Fe": 0.10, "Mg": 0.35, "Cu": 0.02, "Mn": 0.03, "Zn": 0.03},
    "AlSi10MnMg": {"Si": 10.2, "Fe": 0.15, "Mg": 0.30, "Cu": 0.02, "Mn": 0.60, "Zn": 0.05},
    "AlSi7Mg0.3": {"Si": 7.0, "Fe": 0.12, "Mg": 0.32, "Cu": 0.02, "Mn": 0.05, "Zn": 0.04},
}
PRIMARY_INGOT: Composition = {"Si": 0.04, "Fe": 0.07}
PRE_CONSUMER_SCRAP: Composition = {"Si": 9.8, "Fe": 0.11, "Mg": 0.30, "Cu": 0.02, "Mn": 0.55, "Zn": 0.04}
SILICON_METAL: Composition = {"Si": 99.5, "Fe": 0.25}
MAGNESIUM_INGOT: Composition = {"Mg": 99.9}
PRIMARY_SUPPLIERS = [
    {"supplier": "Fjord Aluminium smelter", "powerSource": PRIMARY_POWER_SOURCES[0], "country": "NO"},
    {"supplier": "Inland Aluminium smelter", "powerSource": PRIMARY_POWER_SOURCES[1], "country": "CN"},
]
PRE_CONSUMER_SUPPLIER = "Rhine Precision Machining (trimmings and chips of structural castings)"
ALLOYING_SUPPLIER = "Alloying additions trader"
# Purchase units: primary ingot bundles, silicon in bags, magnesium ingots, scrap bales.
PRIMARY_BUNDLE_KG = Decimal("250")
SILICON_BAG_KG = Decimal("25")
MAGNESIUM_UNIT_KG = Decimal("5")
PRE_CONSUMER_BALE_KG = Decimal("50")
PRE_CONSUMER_SHARE = 0.10  # of the charge
DROSS_SHARE = Decimal("0.005")  # skimmed at every melt
SORTING_LOSS = {"wheel": Decimal("0.015"), "structural": Decimal("0.020")}  # valves, weights, steel inserts
SORTING_GROUP_VEHICLES = 8  # vehicles whose parts make one pair of scrap lots
# Die-casting: five trays per vehicle, 3 % rejected, runners/overflows/biscuits 35 % of
# the castings' mass, 0.5 % lost in the holding furnace. Run-around scrap and rejects are
# internal scrap (casting stage, 004:176) and go back to the remelter.
TRAYS_PER_VEHICLE = 5
REJECT_SHARE = 0.03
RUN_AROUND_SHARE = Decimal("0.35")
HOLDING_LOSS_SHARE = Decimal("0.005")
TRAY_DESIGNS = [("BT-C", Decimal("18.6")), ("BT-V", Decimal("21.4")), ("BT-S", Decimal("24.2"))]
TRAY_ALLOY = "AlSi10Mg (Fe < 0.12)"
# The castline casts its trays for this carmaker: the closed loop is scrap from its own vehicles.
TRAY_CUSTOMER = "Volta"
# Every third melt is cast into ingots at the Norwegian shop; the others go molten.
INGOT_ROUTE_EVERY = 3
# Mass balance (ISO 22095): the remelter concentrates the post-consumer credits of its hot-metal
# plant on premium lots: every second molten melt claims all the credits the plant's melts of the
# year have earned so far (up to its own mass), the others carry none. Assumption: a demo choice,
# to show mass balance and physical custody apart.
PREMIUM_LOT_EVERY = 2
# What a shredded pack becomes, as shares of its mass (the rest is electrolyte and
# moisture driven off); black mass assays in mass %.
PACK_SPLIT = {
    "NMC": {"black mass": "0.36", "aluminium": "0.20", "copper": "0.09", "steel": "0.12", "plastics": "0.13"},
    "LFP": {"black mass": "0.34", "aluminium": "0.21", "copper": "0.09", "steel": "0.13", "plastics": "0.13"},
}
BLACK_MASS: dict[str, Composition] = {
    "NMC": {"Ni": 20.5, "Co": 6.4, "Mn": 6.1, "Li": 3.7},
    "LFP": {"Li": 3.9, "Fe": 27.5, "P": 15.4},
}
# Share of each black mass lot refined right away (the rest waits in stock).
REFINED_SHARE = {"NMC": Decimal("1"), "LFP": Decimal("0.5")}
# Salts: compound and metal content in mass % from the molar masses.
SALTS = {
    "Ni": ("NiSO4.6H2O", Decimal("22.33")),
    "Co": ("CoSO4.7H2O", Decimal("20.97")),
    "Mn": ("MnSO4.H2O", Decimal("32.51")),
    "Li": ("Li2CO3", Decimal("18.79")),
}
# Process energy of the steps the seeds give no figure for. ASSUMPTIONS of the demo, not
# sourced: typical orders of magnitude, electricity only, each an even figure to be replaced by
# a partner's metered data. For scale: remelting a tonne takes 90-100 kWh and 70-90 m3 of gas
# (004:354, above), and a die-caster supplied molten skips the melting (004:350).
# Dismantling: depollution, then the pack and aluminium parts out with lifts, impact tools and
# compressed air, per vehicle.
DISMANTLING_KWH_PER_VEHICLE = Decimal("15")
# Scrap sorting, shredding included (shredder, magnetic and eddy-current separation), per
# tonne of parts sorted.
SORTING_KWH_PER_T = Decimal("45")
# Die-casting molten metal: holding furnace, high-pressure die-casting cell (hydraulics, die
# temperature control, vacuum) and trim press, per tonne of melt cast.
DIE_CASTING_KWH_PER_T = Decimal("400")
SECOND_LIFE_APPLICATION = "stationary energy storage"
# Its Battery Pass category (GeneralProductInformation/batteryCategory).
SECOND_LIFE_CATEGORY = "stationary"
