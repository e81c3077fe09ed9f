"""The engine's data as plain JSON values, and back.

Audit exports carry a computation's inputs (sources, activities, parameters) and its
results (footprints) in this form, so anyone can run ``compute`` again on their own
machine. Floats are written as JSON numbers, whose shortest round-trip spelling
(RFC 8785, ``repr``) gives back the very same double: a recomputation is bit for bit.
Reading is strict: a value of the wrong shape is a ``CarbonError``, never a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from carbon.engine.model import Activity, CarbonError, Claim, Footprint, Material, Parameters, Shares, Source

MALFORMED = "serial_malformed"

# A material's CFF parameters (``Material``), by JSON name.
_MATERIAL_FIELDS = {
    "eVirginPerKg": "e_virgin_per_kg",
    "eVirginStarPerKg": "e_virgin_star_per_kg",
    "erecEolPerKg": "erec_eol_per_kg",
    "a": "a",
    "b": "b",
    "qsInOverQp": "qs_in_over_qp",
    "qsOutOverQp": "qs_out_over_qp",
    "r2": "r2",
    "r3": "r3",
    "eErPerKg": "e_er_per_kg",
    "lhvMjPerKg": "lhv_mj_per_kg",
    "xErHeat": "x_er_heat",
    "xErElec": "x_er_elec",
    "eSeHeatPerMj": "e_se_heat_per_mj",
    "eSeElecPerMj": "e_se_elec_per_mj",
    "edPerKg": "ed_per_kg",
}
_PARAMETER_FIELDS = ("defaultMaterial", "materials")


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CarbonError(MALFORMED, f"{what} is not a JSON object")
    return value


def _field(data: Mapping[str, Any], name: str, what: str) -> Any:
    if name not in data:
        raise CarbonError(MALFORMED, f"{what} has no {name!r}")
    return data[name]


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CarbonError(MALFORMED, f"{what} is not a number")
    return float(value)


def _integer(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CarbonError(MALFORMED, f"{what} is not an integer")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise CarbonError(MALFORMED, f"{what} is not a string")
    return value


def _flag(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise CarbonError(MALFORMED, f"{what} is not true or false")
    return value


def _optional_text(value: Any, what: str) -> str | None:
    return None if value is None else _text(value, what)


def _list(value: Any, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise CarbonError(MALFORMED, f"{what} is not a list")
    return value


def _by_stage(value: Any, what: str) -> dict[str, float]:
    return {_text(stage, what): _number(v, f"{what}[{stage}]") for stage, v in _object(value, what).items()}


def _pairs(value: Any, what: str) -> tuple[tuple[int, float], ...]:
    pairs = []
    for item in _list(value, what):
        pair = _list(item, what)
        if len(pair) != 2:
            raise CarbonError(MALFORMED, f"{what} holds an item that is not [node, kg]")
        pairs.append((_integer(pair[0], f"{what} node"), _number(pair[1], f"{what} kg")))
    return tuple(pairs)


# --- sources ---------------------------------------------------------------------------------


def source_to_json(source: Source) -> dict[str, Any]:
    return {
        "node": source.node,
        "massKg": source.mass_kg,
        "origin": source.origin,
        "burdenPerKg": dict(source.burden_per_kg),
        "generatorPerKg": source.generator_per_kg,
        "vehicleMake": source.vehicle_make,
        "primaryData": source.primary_data,
    }


def source_from_json(value: Any) -> Source:
    data = _object(value, "source")
    return Source(
        node=_integer(_field(data, "node", "source"), "source node"),
        mass_kg=_number(_field(data, "massKg", "source"), "source massKg"),
        origin=_text(_field(data, "origin", "source"), "source origin"),
        burden_per_kg=_by_stage(_field(data, "burdenPerKg", "source"), "source burdenPerKg"),
        generator_per_kg=_number(_field(data, "generatorPerKg", "source"), "source generatorPerKg"),
        vehicle_make=_optional_text(_field(data, "vehicleMake", "source"), "source vehicleMake"),
        primary_data=_flag(_field(data, "primaryData", "source"), "source primaryData"),
    )


# --- activities ------------------------------------------------------------------------------


def activity_to_json(activity: Activity) -> dict[str, Any]:
    return {
        "seq": activity.seq,
        "inputs": [[node, kg] for node, kg in activity.inputs],
        "outputs": [[node, kg] for node, kg in activity.outputs],
        "lossesKg": activity.losses_kg,
        "burdens": dict(activity.burdens),
        "flows": [[source, target, kg] for source, target, kg in activity.flows],
        "site": activity.site,
        "period": activity.period,
        "substitutes": activity.substitutes,
        "products": sorted(activity.products),
        "materials": [[node, material, content] for node, material, content in activity.materials],
        "claim": None if activity.claim is None else claim_to_json(activity.claim),
    }


def claim_to_json(claim: Claim) -> dict[str, Any]:
    return {
        "category": claim.category,
        "kg": claim.kg,
        "vehicleMake": claim.vehicle_make,
        "lotPreConsumerKg": claim.lot_pre_kg,
        "lotPostConsumerKg": claim.lot_post_kg,
        "lotPostConsumerByMakeKg": dict(claim.lot_by_make),
    }


def claim_from_json(value: Any) -> Claim | None:
    if value is None:
        return None
    data = _object(value, "activity claim")
    return Claim(
        category=_text(_field(data, "category", "claim"), "claim category"),
        kg=_number(_field(data, "kg", "claim"), "claim kg"),
        vehicle_make=_optional_text(_field(data, "vehicleMake", "claim"), "claim vehicleMake"),
        lot_pre_kg=_number(_field(data, "lotPreConsumerKg", "claim"), "claim lotPreConsumerKg"),
        lot_post_kg=_number(_field(data, "lotPostConsumerKg", "claim"), "claim lotPostConsumerKg"),
        lot_by_make=tuple(
            sorted(
                (_text(make, "make"), _number(kg, f"claim kg of make {make}"))
                for make, kg in _object(
                    _field(data, "lotPostConsumerByMakeKg", "claim"), "claim lotPostConsumerByMakeKg"
                ).items()
            )
        ),
    )


def _flows(value: Any) -> tuple[tuple[int, int, float], ...]:
    flows = []
    for item in _list(value, "activity flows"):
        flow = _list(item, "activity flows")
        if len(flow) != 3:
            raise CarbonError(MALFORMED, "activity flows hold an item that is not [source, target, kg]")
        flows.append((_integer(flow[0], "flow source"), _integer(flow[1], "flow target"), _number(flow[2], "flow kg")))
    return tuple(flows)


def _materials(value: Any) -> tuple[tuple[int, str, float], ...]:
    materials = []
    for item in _list(value, "activity materials"):
        named = _list(item, "activity materials")
        if len(named) != 3:
            raise CarbonError(MALFORMED, "activity materials hold an item that is not [node, material, content]")
        materials.append(
            (_integer(named[0], "material node"), _text(named[1], "material"), _number(named[2], "material content"))
        )
    return tuple(materials)


def activity_from_json(value: Any) -> Activity:
    data = _object(value, "activity")
    site = _field(data, "site", "activity")
    return Activity(
        seq=_integer(_field(data, "seq", "activity"), "activity seq"),
        inputs=_pairs(_field(data, "inputs", "activity"), "activity inputs"),
        outputs=_pairs(_field(data, "outputs", "activity"), "activity outputs"),
        losses_kg=_number(_field(data, "lossesKg", "activity"), "activity lossesKg"),
        burdens=_by_stage(_field(data, "burdens", "activity"), "activity burdens"),
        flows=_flows(_field(data, "flows", "activity")),
        site=None if site is None else _integer(site, "activity site"),
        period=_optional_text(_field(data, "period", "activity"), "activity period"),
        substitutes=_flag(_field(data, "substitutes", "activity"), "activity substitutes"),
        products=frozenset(
            _integer(node, "activity product") for node in _list(_field(data, "products", "activity"), "products")
        ),
        materials=_materials(_field(data, "materials", "activity")),
        claim=claim_from_json(_field(data, "claim", "activity")),
    )


# --- parameters ------------------------------------------------------------------------------


def material_to_json(material: Material) -> dict[str, float]:
    return {name: getattr(material, attribute) for name, attribute in _MATERIAL_FIELDS.items()}


def material_from_json(value: Any, what: str = "material") -> Material:
    data = _object(value, what)
    unknown = set(data) - set(_MATERIAL_FIELDS)
    if unknown:
        raise CarbonError(MALFORMED, f"{what} holds unknown fields {sorted(unknown)}")
    return Material(
        **{
            attribute: _number(_field(data, name, what), f"{what} {name}")
            for name, attribute in _MATERIAL_FIELDS.items()
        }
    )


def parameters_to_json(params: Parameters) -> dict[str, Any]:
    return {
        "defaultMaterial": params.default_material,
        "materials": {name: material_to_json(material) for name, material in sorted(params.materials.items())},
    }


def parameters_from_json(value: Any) -> Parameters:
    data = _object(value, "parameters")
    unknown = set(data) - set(_PARAMETER_FIELDS)
    if unknown:
        raise CarbonError(MALFORMED, f"parameters hold unknown fields {sorted(unknown)}")
    materials = _object(_field(data, "materials", "parameters"), "parameters materials")
    return Parameters(
        materials={
            _text(name, "material name"): material_from_json(material, f"material {name}")
            for name, material in materials.items()
        },
        default_material=_text(_field(data, "defaultMaterial", "parameters"), "parameters defaultMaterial"),
    )


# --- footprints ------------------------------------------------------------------------------


def footprint_to_json(footprint: Footprint) -> dict[str, Any]:
    return {
        "perKg": dict(footprint.per_kg),
        "preConsumerShare": footprint.shares.pre_consumer,
        "postConsumerShare": footprint.shares.post_consumer,
        "postConsumerByMake": dict(footprint.shares.by_make),
        "primaryDataShare": footprint.primary_data_share,
        "pendingRecycled": footprint.pending_recycled,
    }


def footprint_from_json(value: Any) -> Footprint:
    data = _object(value, "footprint")
    by_make = _object(_field(data, "postConsumerByMake", "footprint"), "footprint postConsumerByMake")
    return Footprint(
        per_kg=_by_stage(_field(data, "perKg", "footprint"), "footprint perKg"),
        shares=Shares(
            pre_consumer=_number(_field(data, "preConsumerShare", "footprint"), "footprint preConsumerShare"),
            post_consumer=_number(_field(data, "postConsumerShare", "footprint"), "footprint postConsumerShare"),
            by_make=tuple(sorted((_text(m, "make"), _number(v, f"share of make {m}")) for m, v in by_make.items())),
        ),
        primary_data_share=_number(_field(data, "primaryDataShare", "footprint"), "footprint primaryDataShare"),
        pending_recycled=_flag(_field(data, "pendingRecycled", "footprint"), "footprint pendingRecycled"),
    )
