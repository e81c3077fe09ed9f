"""Writes of the carbon app: computed footprints, and emission factor versions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q, QuerySet

from carbon import followers, graph
from carbon.engine import (
    Activity,
    CarbonError,
    Footprint,
    Material,
    Parameters,
    Source,
    collector_paused,
    compute_methods,
)
from carbon.engine.battery import (
    beginning_of_life_energy_kwh,
    lifetime_energy_kwh,
    per_kwh,
    performance_class,
    recycled_content_against_minimums,
)
from carbon.engine.model import CHAINS_OF_CUSTODY, CUT_OFF, MASS_BALANCE, METHODS, PHYSICAL
from carbon.factors import FactorBook, canonical_value
from carbon.models import DirtyNode, EmissionFactor, FootprintResult, LedgerCursor
from carbon.selectors import footprints_known
from traceability import visibility
from traceability.choices import Operation, OrganisationRole
from traceability.errors import ApplicationError
from traceability.models import EventRecord, LedgerEntry, Organisation, TraceableObject
from traceability.units import registry

CURSOR = "carbon"
# The events a mass-balance account is made of: the melts that credit it and the claims that draw it.
ACCOUNT_OPERATIONS = graph.SUBSTITUTING | {Operation.RECYCLED_CONTENT_CLAIM}
# Events read per pass when catching up: bounds the memory of one pass.
CATCH_UP_BATCH = 5000


@dataclass(frozen=True)
class RecomputeReport:
    events: int
    results: int
    ledger_size: int


# The PEF Circular Footprint Formula's parameters (``carbon.engine.Material``), one registry
# code each, by material (the region of the rows): Commission Recommendation (EU) 2021/2279.
CFF_CODES = {
    "cff_e_virgin": "e_virgin_per_kg",
    "cff_e_virgin_star": "e_virgin_star_per_kg",
    "cff_e_recycling_eol": "erec_eol_per_kg",
    "cff_a": "a",
    "cff_b": "b",
    "cff_qs_in_qp": "qs_in_over_qp",
    "cff_qs_out_qp": "qs_out_over_qp",
    "cff_r2": "r2",
    "cff_r3": "r3",
    "cff_e_er": "e_er_per_kg",
    "cff_lhv": "lhv_mj_per_kg",
    "cff_x_er_heat": "x_er_heat",
    "cff_x_er_elec": "x_er_elec",
    "cff_e_se_heat": "e_se_heat_per_mj",
    "cff_e_se_elec": "e_se_elec_per_mj",
    "cff_e_d": "ed_per_kg",
}
# What an output that names no material is made of (remelted metal, die-cast parts).
DEFAULT_MATERIAL = graph.ALUMINIUM


def cff_materials(book: FactorBook) -> list[str]:
    """The materials the registry holds CFF parameters for (those with an E_v row)."""
    return sorted(book.regions("cff_e_virgin") - {""})


def cff_material(book: FactorBook, material: str) -> Material:
    """A material's CFF parameters, each the current registry row of its code for the material;
    a code without a row for it keeps the engine's default (A = 0.2, Qs/Qp = 1, the rest 0)."""
    values = {}
    for code, attribute in CFF_CODES.items():
        if material in book.regions(code):
            values[attribute] = book.value(code, material, fallback=False)
    return Material(**values)


def parameters(book: FactorBook) -> Parameters:
    """CFF parameters from the registry, by material; outputs that name none are aluminium."""
    return Parameters(
        materials={material: cff_material(book, material) for material in cff_materials(book)},
        default_material=DEFAULT_MATERIAL,
    )


def _records(query) -> Iterable[EventRecord]:  # type: ignore[no-untyped-def]
    return query.select_related("entry", "site").order_by("entry_id")


def _material_references(book: FactorBook) -> dict[str, set[str]]:
    """The factor versions behind each material's CFF parameters."""
    references = {}
    for material in cff_materials(book):
        with book.tracking() as used:
            cff_material(book, material)
        references[material] = used
    return references


def _node_references(
    sources: Iterable[Source],
    activities: Iterable[Activity],
    uses: Mapping[tuple[str, int], set[str]],
    materials: Mapping[str, set[str]],
    inherited: Mapping[int, Iterable[str]],
) -> dict[int, frozenset[str]]:
    """Per node, every factor version behind its results: its own source's or the activities'
    that made it, the CFF parameters of its material where the CFF substitutes it or ends its
    life (a substituting activity's outputs, products), and (through its inputs, ``inherited``
    where they are not computed here) its ancestors'. A superseded version then names exactly
    its dependents."""
    references: dict[int, frozenset[str]] = {}
    for source in sources:
        references[source.node] = frozenset(uses.get(("node", source.node), ()))
    for activity in sorted(activities, key=lambda a: a.seq):
        behind = set(uses.get(("event", activity.seq), ()))
        for node, _ in activity.inputs:
            behind.update(references[node] if node in references else inherited.get(node, ()))
        made = frozenset(behind)
        named = {node: material for node, material, _ in activity.materials}
        for node, _ in activity.outputs:
            if activity.substitutes or node in activity.products:
                references[node] = made | materials.get(named.get(node, DEFAULT_MATERIAL), set())
            else:
                references[node] = made
    return references


def _store(
    results: dict[tuple[str, str], dict[int, Footprint]],
    masses: dict[int, Decimal],
    references: Mapping[int, Iterable[str]],
    ledger_size: int,
) -> int:
    """Upsert the results; each records every factor version behind it, its own and its inputs'."""
    ordered = {node: sorted(refs) for node, refs in references.items()}
    rows = [
        FootprintResult(
            node_id=node,
            method=method,
            chain=chain,
            per_kg=footprint.per_kg,
            total_per_kg=footprint.total_per_kg,
            total_kg=footprint.total_per_kg * float(masses[node]),
            pre_consumer_share=footprint.shares.pre_consumer,
            post_consumer_share=footprint.shares.post_consumer,
            post_consumer_by_make=dict(footprint.shares.by_make),
            primary_data_share=footprint.primary_data_share,
            pending_recycled=footprint.pending_recycled,
            factors=ordered[node],
            ledger_size=ledger_size,
        )
        for (method, chain), footprints in results.items()
        for node, footprint in footprints.items()
    ]
    FootprintResult.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["node", "method", "chain"],
        update_fields=[
            "per_kg",
            "total_per_kg",
            "total_kg",
            "pre_consumer_share",
            "post_consumer_share",
            "post_consumer_by_make",
            "primary_data_share",
            "pending_recycled",
            "factors",
            "ledger_size",
            "computed_at",
        ],
    )
    return len(rows)


def _compute_all_ways(sources, activities, book: FactorBook, known=None):  # type: ignore[no-untyped-def]
    """Every method under both chains of custody."""
    params = parameters(book)
    known = known or {}
    results = {}
    for chain in CHAINS_OF_CUSTODY:
        by_method = compute_methods(
            sources,
            activities,
            methods=METHODS,
            chain=chain,
            params=params,
            known={method: known.get((method, chain), {}) for method in METHODS},
        )
        for method, footprints in by_method.items():
            results[(method, chain)] = footprints
    return results


@transaction.atomic
def footprints_recompute(*, progress: Callable[[int], None] | None = None) -> RecomputeReport:
    """Recompute every footprint from the whole ledger, and move the cursor to its head."""
    ledger_size = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    book = FactorBook.load()
    with collector_paused():
        records = list(_records(EventRecord.objects.filter(entry_id__lte=ledger_size)))
        uses: dict[tuple[str, int], set[str]] = {}
        sources, activities = graph.build(records, book, uses)
        results = _compute_all_ways(sources, activities, book)
    references = _node_references(sources, activities, uses, _material_references(book), {})
    masses = dict(TraceableObject.objects.values_list("pk", "initial_kg"))
    FootprintResult.objects.all().delete()
    DirtyNode.objects.all().delete()
    stored = _store(results, masses, references, ledger_size)
    LedgerCursor.objects.update_or_create(name=CURSOR, defaults={"seq": ledger_size})
    followers.after_commit("FOOTPRINT_FOLLOWERS", ledger_size, robust=True)
    if progress is not None:
        progress(len(records))
    return RecomputeReport(events=len(records), results=stored, ledger_size=ledger_size)


@transaction.atomic
def footprints_catch_up() -> RecomputeReport:
    """Compute what the events after the cursor made; nothing else changes.

    The graph only grows: a new event creates new nodes, so earlier results stand. A
    recycled-content claim re-makes its lot under mass balance (as a molten transfer re-makes
    hot metal): nothing was made from the lot before its claims (a claimed lot is whole), so
    the lot is all it changes. Under mass balance a new melt or claim credits or draws its
    site's account for the period, so the earlier melts and claims of that account are
    replayed (their results do not change) to rebuild it.
    Safe to run twice or concurrently: the cursor row is locked and results are upserted.
    """
    cursor, _ = LedgerCursor.objects.select_for_update().get_or_create(name=CURSOR)
    ledger_size = LedgerEntry.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    pending = EventRecord.objects.filter(entry_id__gt=cursor.seq, entry_id__lte=ledger_size)
    new = list(_records(pending)[:CATCH_UP_BATCH])
    if not new:
        return RecomputeReport(events=0, results=0, ledger_size=cursor.seq)
    book = FactorBook.load()
    uses: dict[tuple[str, int], set[str]] = {}
    sources, activities = graph.build(new, book, uses)
    made = {node for a in activities for node, _ in a.outputs} | {s.node for s in sources}
    results, references = _compute_batch(
        sources, activities, book, uses, earlier=EventRecord.objects.filter(entry_id__lte=cursor.seq), keep=made
    )
    masses = dict(TraceableObject.objects.filter(pk__in=made).values_list("pk", "initial_kg"))
    stored = _store(results, masses, references, new[-1].entry_id)
    cursor.seq = new[-1].entry_id
    cursor.save(update_fields=["seq"])
    return RecomputeReport(events=len(new), results=stored, ledger_size=cursor.seq)


def _compute_batch(
    sources: list[Source],
    activities: list[Activity],
    book: FactorBook,
    uses: Mapping[tuple[str, int], set[str]],
    *,
    earlier: QuerySet[EventRecord],
    keep: set[int],
) -> tuple[dict[tuple[str, str], dict[int, Footprint]], dict[int, frozenset[str]]]:
    """The results of ``keep`` (made by ``sources`` and ``activities``) and what stands behind them.

    Inputs made outside the batch are read from their stored results. Under mass balance a
    melt credits its site's account for the period and a claim draws on it, so the other melts
    and claims of that account among ``earlier`` are replayed (their results do not change) to
    rebuild it. A claim sets its lot's shares from the lot's claimed totals, which it carries:
    replaying an earlier claim on a lot and then the batch's gives the lot's shares after both.
    """
    # Accounts are drawn in ledger order (``carbon.engine.walk``): a melt or claim after the batch's
    # last one of an account changes nothing the batch computes, so only the earlier ones are replayed.
    accounts: dict[tuple[int | None, str | None], int] = {}
    for a in activities:
        if a.substitutes or a.claim is not None:
            accounts[(a.site, a.period)] = max(a.seq, accounts.get((a.site, a.period), 0))
    batch = {a.seq for a in activities}
    replayed = (
        [
            a
            for a in graph.build(
                _records(
                    earlier.filter(
                        operation__in=ACCOUNT_OPERATIONS,
                        site_id__in={s for s, _ in accounts},
                        entry_id__lt=max(accounts.values()),
                    ).exclude(entry_id__in=batch)
                ),
                book,
            )[1]
            if a.seq < accounts.get((a.site, a.period), 0)
        ]
        if accounts
        else []
    )
    if replayed:
        # A replayed melt's lot hauled molten since is remade by the haul, as stored: replayed too,
        # so that an activity of the batch that consumes the lot reads it as the stored result says.
        made = {node for a in replayed for node, _ in a.outputs}
        replayed += graph.build(
            _records(
                earlier.filter(operation=Operation.MOLTEN_TRANSFER, involved__in=made)
                .exclude(entry_id__in=batch)
                .distinct()
            ),
            book,
        )[1]
    # The batch's own inputs made outside it, and (for the replays) those of the account's other
    # melts: an input a replayed melt made is computed by the replay only, not by the batch's run.
    needed = _made_outside(sources, activities)
    known = footprints_known(node_ids=needed)
    for (method, chain), footprints in footprints_known(
        node_ids=_made_outside(sources, [*replayed, *activities]) - needed, chains=[MASS_BALANCE]
    ).items():
        known.setdefault((method, chain), {}).update(footprints)
    results = {}
    # Physical custody needs the batch alone; mass balance the batch after the replayed events.
    for chain, computed in (
        (PHYSICAL, activities),
        (MASS_BALANCE, sorted([*replayed, *activities], key=lambda a: a.seq)),
    ):
        by_method = compute_methods(
            sources,
            computed,
            methods=METHODS,
            chain=chain,
            params=parameters(book),
            known={method: known.get((method, chain), {}) for method in METHODS},
        )
        for method, footprints in by_method.items():
            results[(method, chain)] = {n: f for n, f in footprints.items() if n in keep}
    # The inputs' results were computed with factor versions of their own: they stand behind these too.
    inherited = dict(
        FootprintResult.objects.filter(node_id__in=needed, method=CUT_OFF, chain=PHYSICAL).values_list(
            "node_id", "factors"
        )
    )
    references = _node_references(sources, activities, uses, _material_references(book), inherited)
    return results, {node: refs for node, refs in references.items() if node in keep}


def _made_outside(sources: Iterable[Source], activities: Iterable[Activity]) -> set[int]:
    """The inputs of ``activities`` that neither ``sources`` nor an earlier one of them made."""
    needed, produced = set(), {s.node for s in sources}
    for activity in sorted(activities, key=lambda a: a.seq):
        needed |= {node for node, _ in activity.inputs} - produced
        produced |= {node for node, _ in activity.outputs}
    return needed


@transaction.atomic
def footprints_refresh() -> RecomputeReport:
    """Recompute the dirty nodes (``DirtyNode``) up to the cursor, oldest first, and only them.

    A dirty node's downstream is dirty too (it was marked with it), so taking them in ledger
    order, a batch at a time, every input outside a batch is clean or already refreshed. A node
    is remade by the event that created it and by every molten transfer and claim of it since. Safe to
    run twice or concurrently: the cursor row is locked, results are upserted and the rows of
    the nodes refreshed are deleted in the same transaction.
    """
    cursor, _ = LedgerCursor.objects.select_for_update().get_or_create(name=CURSOR)
    batch = dict(
        TraceableObject.objects.filter(pk__in=DirtyNode.objects.values("node_id"), created_seq__lte=cursor.seq)
        .order_by("created_seq", "pk")
        .values_list("pk", "created_seq")[:CATCH_UP_BATCH]
    )
    if not batch:
        return RecomputeReport(events=0, results=0, ledger_size=cursor.seq)
    remaking = EventRecord.objects.filter(
        Q(entry_id__in=set(batch.values()))
        | Q(operation__in=(Operation.MOLTEN_TRANSFER, Operation.RECYCLED_CONTENT_CLAIM), involved__in=list(batch)),
        entry_id__lte=cursor.seq,
    )
    records = list(_records(EventRecord.objects.filter(pk__in=remaking.values("pk"))))
    book = FactorBook.load()
    uses: dict[tuple[str, int], set[str]] = {}
    sources, activities = graph.build(records, book, uses)
    keep = set(batch)
    results, references = _compute_batch(
        sources, activities, book, uses, earlier=EventRecord.objects.filter(entry_id__lte=cursor.seq), keep=keep
    )
    masses = dict(TraceableObject.objects.filter(pk__in=keep).values_list("pk", "initial_kg"))
    stored = _store(results, masses, references, cursor.seq)
    DirtyNode.objects.filter(node_id__in=keep).delete()
    # Results that existed changed: PACT footprints that partners follow may need a new version.
    followers.after_commit("FOOTPRINT_FOLLOWERS", cursor.seq, robust=True)
    return RecomputeReport(events=len(records), results=stored, ledger_size=cursor.seq)


def _mark_dirty(factor: EmissionFactor, superseded: EmissionFactor | None) -> int:
    """Mark the nodes whose results a new factor version changes; the catch-up recomputes them.

    A supplier footprint bound to a lot: the lot and everything made from it. A new version of
    a registry factor: the nodes whose results name the version it supersedes (their results
    carry their ancestors' versions, so that is their downstream too). The first version of a
    registry factor may replace a fallback or a missing figure anywhere: every node.
    The cursor row is locked first, so a catch-up running meanwhile either finished before
    (its results are seen here) or starts after (it reads the new version).
    """
    LedgerCursor.objects.select_for_update().get_or_create(name=CURSOR)
    computed = FootprintResult.objects.filter(method=CUT_OFF, chain=PHYSICAL)
    if factor.lot_id is not None:
        nodes = set(computed.filter(node_id__in=_downstream_of(factor.lot_id)).values_list("node_id", flat=True))
    elif superseded is not None and connection.vendor == "postgresql":
        nodes = set(computed.filter(factors__contains=[superseded.reference]).values_list("node_id", flat=True))
    elif superseded is not None:  # SQLite has no JSON containment: the lists are read and tested here
        nodes = {node for node, used in computed.values_list("node_id", "factors") if superseded.reference in used}
    else:
        nodes = set(computed.values_list("node_id", flat=True))
    DirtyNode.objects.bulk_create([DirtyNode(node_id=node) for node in nodes], ignore_conflicts=True)
    if nodes:
        followers.after_commit("FACTOR_FOLLOWERS", factor.pk, robust=True)
    return len(nodes)


# Everything made from an object, through the recorded mass flows, and the object itself.
DOWNSTREAM = """
WITH RECURSIVE reached(id) AS (
    SELECT CAST(%s AS BIGINT)
  UNION
    SELECT f.target_id FROM traceability_massflow f JOIN reached r ON f.source_id = r.id
)
SELECT id FROM reached
"""


def _downstream_of(node_id: int) -> list[int]:
    with connection.cursor() as db:
        db.execute(DOWNSTREAM, [node_id])
        return [row[0] for row in db.fetchall()]


# --- the factor registry ------------------------------------------------------------------


@transaction.atomic
def factor_add(
    *,
    code: str,
    value: Decimal,
    unit: str,
    source: str,
    region: str = "",
    lot: TraceableObject | None = None,
    valid_from: date | None = None,
    valid_to: date | None = None,
    organisation: Organisation | None = None,
) -> EmissionFactor:
    """A new factor, or a new version superseding the current one of the same code and scope.

    ``organisation`` is who asks for it (over the API, or a member in the Django admin). The
    platform's own writers (PACT pulls, makers' declared footprints, platform operators in the
    Django admin) act for no organisation and pass none.
    """
    if organisation is not None:
        _factor_add_check(organisation=organisation, lot=lot)
    try:
        registry().Unit(unit)
    except Exception as exc:
        raise ApplicationError("unit_invalid", f"{unit!r} is not a unit pint knows") from exc
    if not source.strip():
        raise ApplicationError("source_missing", "every factor needs its source")
    canonical_value(EmissionFactor(code=code, region=region, value=value, unit=unit, version=0))
    current = (
        EmissionFactor.objects.filter(code=code, region=region, lot=lot, superseded_by__isnull=True)
        .order_by("-version")
        .first()
    )
    factor = EmissionFactor.objects.create(
        code=code,
        region=region,
        lot=lot,
        value=value,
        unit=unit,
        source=source,
        valid_from=valid_from,
        valid_to=valid_to,
        version=(current.version + 1) if current else 1,
        supersedes=current,
    )
    _mark_dirty(factor, current)
    return factor


def _factor_add_check(*, organisation: Organisation, lot: TraceableObject | None) -> None:
    """Who may write to the registry: the platform operator anything; a member only a supplier
    footprint bound to a lot its organisation holds or made; regulators nothing. Registry defaults
    (factors bound to no lot) apply to every organisation's footprints, so they are the operator's."""
    if visibility.is_operator_organisation(organisation):
        return
    if lot is not None and lot.custodian_id != organisation.pk and lot.created_by_id != organisation.pk:
        raise ApplicationError("not_custodian", "a supplier footprint is bound by the lot's holder", status=403)
    if organisation.role == OrganisationRole.REGULATOR:
        raise ApplicationError("role_not_allowed", "regulators read the registry; they do not write to it", status=403)
    if lot is None:
        raise ApplicationError(
            "role_not_allowed", "registry defaults (factors bound to no lot) are the platform operator's", status=403
        )


# --- batteries (Art. 7 and Art. 8 of Regulation (EU) 2023/1542) -----------------------------

BATTERY_PCF_CODES = {
    "battery_pcf_raw_material": "raw_material_acquisition",
    "battery_pcf_main_production": "main_production",
    "battery_pcf_distribution": "distribution",
    "battery_pcf_end_of_life": "end_of_life_and_recycling",
}


# Per vehicle category (the region of the rows): full-equivalent cycles per year and years of
# service, both registry rows with their source; a category is known when it has both.
BATTERY_USE_CODES = ("battery_cycles_per_year", "battery_service_years")


def battery_vehicle_categories(book: FactorBook) -> list[str]:
    cycles, years = (book.regions(code) for code in BATTERY_USE_CODES)
    return sorted((cycles & years) - {""})


def battery_footprint(*, battery: TraceableObject, method: str = "cut_off", vehicle_category: str = "M1") -> dict:
    """The battery's footprint per kWh of lifetime energy, by stage, its class, and Art. 8 checks.

    Lifetime energy is the model's usable energy at beginning of life (the maker's declared
    ``usableEnergyKWh``, else its ``ratedEnergyKWh``) x cycles per year x years of service of
    ``vehicle_category``; a graded battery's measured capacity and state of health are reported
    under ``graded``, beside the figure, and change nothing in it. Stages add the maker's
    footprint bound to the battery (``battery_pcf_*`` factors, kg CO2e per kWh of rated energy)
    to what the ledger's own events cost (dismantling, repurposing).
    """
    if battery.kind not in {"battery_pack", "battery_module", "battery_cell"}:
        raise ApplicationError("not_a_battery", f"{battery.label} is not a battery")
    attributes = battery.attributes or {}
    rated = float(attributes.get("ratedEnergyKWh") or 0)
    declared = attributes.get("usableEnergyKWh")
    book = FactorBook.load()
    known = battery_vehicle_categories(book)
    if vehicle_category not in known:
        raise ApplicationError(
            "vehicle_category_unknown",
            f"no cycles per year and years of service for category {vehicle_category!r}; known: {', '.join(known)}",
            extra={"known": known},
        )
    cycles, years = (book.value(code, vehicle_category, fallback=False) for code in BATTERY_USE_CODES)
    try:
        declared_kwh = float(declared) if declared is not None else None
    except (TypeError, ValueError) as exc:
        raise ApplicationError("battery_energy_invalid", f"usableEnergyKWh is not a number: {declared!r}") from exc
    try:
        usable, basis = beginning_of_life_energy_kwh(declared_usable_kwh=declared_kwh, rated_kwh=rated)
        lifetime = lifetime_energy_kwh(usable_kwh=usable, cycles_per_year=cycles, years=years)
    except CarbonError as exc:
        raise ApplicationError(exc.code, exc.message) from exc
    totals = dict.fromkeys(BATTERY_PCF_CODES.values(), 0.0)
    ledger = FootprintResult.objects.filter(node=battery, method=method, chain="physical").first()
    if ledger is not None:
        for stage, value in ledger.per_kg.items():
            totals[stage] = totals.get(stage, 0.0) + value * float(battery.initial_kg)
    maker_data = False
    for code, stage in BATTERY_PCF_CODES.items():
        bound = book.for_lot(code, battery.pk)
        if bound is not None:
            totals[stage] += bound * rated
            maker_data = True
    by_stage = per_kwh(totals, lifetime)
    total = sum(by_stage.values())
    bounds = sorted(book.by_region("battery_class_upper_bound").items(), key=lambda bound: bound[1])
    shares = {metal: float(v) for metal, v in (attributes.get("recycledContent") or {}).items()}
    minimums = {
        year: recycled_content_against_minimums(shares, book.by_region(f"recycled_content_minimum_{year}"))
        for year in ("2031", "2036")
    }
    return {
        "battery": battery.identifier,
        "method": method,
        "lifetimeEnergyKWh": lifetime,
        "usableEnergyKWh": usable,
        "usableEnergyBasis": basis,
        "vehicleCategory": vehicle_category,
        "cyclesPerYear": cycles,
        "serviceYears": years,
        "graded": _graded_condition(attributes),
        "perKWh": by_stage,
        "totalPerKWh": total,
        "performanceClass": performance_class(total, bounds) if bounds else None,
        "makerDataIncluded": maker_data,
        "recycledContent": shares,
        "article8": minimums,
        "factors": book.references(),
    }


def _graded_condition(attributes: dict) -> dict | None:
    """The last grading's measured capacity and state of health, when the battery was graded."""
    if not attributes.get("gradedAt"):
        return None
    return {
        "capacityKWh": attributes.get("capacityKWh"),
        "stateOfHealthPct": attributes.get("stateOfHealthPct"),
        "gradedAt": attributes["gradedAt"],
    }
