"""One form per lifecycle operation: validate what a person typed into the operation's typed input, then record it.

Quantities are typed in kilograms (kWh, m3, degC and km where named). A form only checks the
shape of its input; the rules (mass balance, remaining mass, custody, event time order, the
alloy's specification) are the engine's, which raises ``ApplicationError``. ``ERROR_FIELDS`` says
next to which field a failed rule is shown; the ledger append rolls back, so nothing is stored.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.db.models.fields.json import KT

from traceability import jsonbody
from traceability.choices import (
    BATTERY_KINDS,
    CLAIM_CATEGORIES,
    SERIALISED_KINDS,
    Chemistry,
    ObjectKind,
    ObjectStatus,
    Operation,
    OrganisationRole,
    ScrapCategory,
)
from traceability.errors import ApplicationError
from traceability.models import AlloySpecification, EventRecord, Organisation, Site, TraceableObject
from traceability.operations import (
    battery_grading,
    battery_recycling,
    black_mass_refining,
    custody_transfer,
    die_casting,
    dismantling,
    material_receipt,
    molten_transfer,
    recycled_content_claim,
    remelting,
    repurposing,
    scrap_sorting,
    vehicle_intake,
)
from traceability.operations.inputs import BatteryOut, Energy, LotIn, LotOut, PartOut
from traceability.operations.services import operation_record
from traceability.selectors import MELT_KINDS, grid_regions, lot_choices
from traceability.services import site_create
from traceability.units import MAX_PLAUSIBLE_MASS_KG

KG = {"max_digits": 16, "decimal_places": 3, "min_value": Decimal(0), "max_value": MAX_PLAUSIBLE_MASS_KG}
LINE = re.compile(r"\s+")
# Rules every form shows at the same field.
COMMON_ERROR_FIELDS = {
    "site_not_yours": "site",
    "event_time_in_future": "event_time",
    "event_time_too_early": "event_time",
    "not_custodian_at_event_time": "event_time",
    "input_not_yet_existing": "event_time",
}


ROUTES = {"second_life": "graded for second life", "recycling": "graded for recycling"}


def held_label(obj: TraceableObject) -> str:
    """How a picker shows an object held: label, kind, the grading route of a pack, the kg left."""
    route = getattr(obj, "route", None)
    graded = f" · {ROUTES.get(route, route)}" if route else ""
    return f"{obj.label} · {obj.get_kind_display()}{graded} · {obj.remaining_kg} kg"


class OperationForm(forms.Form):
    """Site and event time, the pickers' choices, and the mapping of failed rules to fields."""

    operation: Operation
    title = ""
    summary = ""
    # kinds of the objects in the organisation's custody the form offers to pick from
    picks: tuple[str, ...] = ()
    # the roles whose record index lists the form; None: every role the operation allows
    roles: frozenset[str] | None = None
    # what the "What you hold" panel says to do with the objects listed
    hint = "Type a label (or the identifier) in the form."
    ERROR_FIELDS: dict[str, str] = {}

    site = forms.ModelChoiceField(queryset=Site.objects.none(), help_text="where it happened")
    event_time = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="when it happened (UTC); empty: now",
    )

    def __init__(self, *args: object, organisation: Organisation, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.organisation = organisation
        self.fields["site"].queryset = Site.objects.filter(organisation=organisation).order_by("name")
        self.fields["site"].label_from_instance = lambda site: site.name
        self.available = self.holdings() if self.picks else []
        self._by_label: dict[str, list[str]] = {}
        for obj in self.available:
            self._by_label.setdefault(obj.label, []).append(obj.identifier)
        self.setup()
        for name, field in self.fields.items():
            if field.help_text:
                field.widget.attrs.setdefault("aria-describedby", f"id_{name}_help")

    def holdings(self) -> list[TraceableObject]:
        """The active objects of the kinds ``picks`` in the organisation's custody."""
        return lot_choices(organisation=self.organisation, kinds=self.picks)

    def setup(self) -> None:
        """Fill the choices of picker fields from ``self.available``."""

    def choices(self, kinds: frozenset[str] | tuple[str, ...], *, blank: bool = True) -> list[tuple[str, str]]:
        return ([("", "—")] if blank else []) + [
            (o.identifier, held_label(o)) for o in self.available if o.kind in kinds
        ]

    def identifier(self, text: str, field: str) -> str:
        """An identifier as typed, or the label of an object in the organisation's custody."""
        if ":" in text:
            return text
        found = self._by_label.get(text, [])
        if len(found) != 1:
            problem = "is not the label of an active object you hold" if not found else "names several objects"
            raise ValidationError(f"{text!r} {problem}: give its identifier", code="label_unknown")
        return found[0]

    def lines(self, field: str, *, min_columns: int, max_columns: int) -> list[list[str]]:
        rows = [LINE.split(line.strip()) for line in self.cleaned_data.get(field, "").splitlines() if line.strip()]
        for number, row in enumerate(rows, start=1):
            if not min_columns <= len(row) <= max_columns:
                raise ValidationError(f"line {number}: expected {min_columns} to {max_columns} values", code="line")
        return rows

    @staticmethod
    def kg(text: str, line: int) -> Decimal:
        try:
            value = Decimal(text.lower().removesuffix("kg"))
        except InvalidOperation:
            raise ValidationError(f"line {line}: {text!r} is not a number of kg", code="kg_invalid") from None
        if not value.is_finite() or value > MAX_PLAUSIBLE_MASS_KG:
            raise ValidationError(f"line {line}: at most {MAX_PLAUSIBLE_MASS_KG} kg", code="kg_invalid")
        if value <= 0:
            raise ValidationError(f"line {line}: kg must be positive", code="kg_invalid")
        return value

    def field_for(self, error: ApplicationError) -> str | None:
        name = self.ERROR_FIELDS.get(error.code) or COMMON_ERROR_FIELDS.get(error.code)
        return name if name in self.fields else None

    def save(self) -> EventRecord:
        """Record the operation; on a broken rule, attach it to its field and re-raise."""
        try:
            return operation_record(organisation=self.organisation, data=self.to_input(self.cleaned_data))
        except ApplicationError as error:
            self.add_error(self.field_for(error), ValidationError(error.message, code=error.code))
            raise

    def to_input(self, d: dict) -> object:  # type: ignore[type-arg]
        """The operation's typed input, from the cleaned data."""
        raise NotImplementedError

    def common(self, d: dict) -> dict[str, object]:  # type: ignore[type-arg]
        return {"site": d["site"], "event_time": d.get("event_time")}


class MeteredForm(OperationForm):
    """An operation that may record the process energy it used: remelting's two fields, optional here."""

    ENERGY_FIELDS = ("electricity_kwh", "natural_gas_m3")
    electricity_kwh = forms.DecimalField(label="Electricity (kWh)", required=False, help_text="metered", **KG)
    natural_gas_m3 = forms.DecimalField(label="Natural gas (m³)", required=False, help_text="metered", **KG)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for name in self.ENERGY_FIELDS:  # after the operation's own fields
            self.fields[name] = self.fields.pop(name)

    def common(self, d: dict) -> dict[str, object]:  # type: ignore[type-arg]
        if d.get("electricity_kwh") is None and d.get("natural_gas_m3") is None:
            return {**super().common(d), "energy": None}
        energy = Energy(
            electricity_kwh=d.get("electricity_kwh") or Decimal(0), natural_gas_m3=d.get("natural_gas_m3") or Decimal(0)
        )
        return {**super().common(d), "energy": energy}


def composition(text: str) -> dict[str, float]:
    """``Si=7.1 Fe=0.11``: an assay in mass %."""
    assay = {}
    for pair in LINE.split(text.strip()) if text.strip() else []:
        element, _, value = pair.partition("=")
        try:
            pct = float(value)
        except ValueError:
            raise ValidationError(f"{pair!r}: write element=percent, e.g. Fe=0.11", code="composition") from None
        if not element.isalpha() or not 0 <= pct <= 100:
            raise ValidationError(f"{pair!r}: an element symbol and a percent 0-100", code="composition")
        assay[element] = pct
    return assay


class VehicleIntakeForm(OperationForm):
    operation, title = Operation.VEHICLE_INTAKE, "Vehicle intake"
    summary = "An end-of-life vehicle arrives at the yard."
    ERROR_FIELDS = {"vin_invalid": "vin", "vin_check_digit_invalid": "vin", "identifier_taken": "vin"}

    vin = forms.CharField(label="VIN", max_length=17, min_length=17)
    mass_kg = forms.DecimalField(label="Mass (kg)", **KG)
    make = forms.CharField(max_length=64)
    model = forms.CharField(max_length=64)
    model_year = forms.IntegerField(required=False, min_value=1950, max_value=2100)

    def to_input(self, d: dict) -> vehicle_intake.VehicleIntakeInput:  # type: ignore[type-arg]
        return vehicle_intake.VehicleIntakeInput(
            **self.common(d),  # type: ignore[arg-type]
            vin=d["vin"],
            kg=d["mass_kg"],
            make=d["make"],
            model=d["model"],
            model_year=d.get("model_year"),
        )


class DismantlingForm(MeteredForm):
    operation, title = Operation.DISMANTLING, "Dismantling"
    summary = "The traction battery and aluminium parts come out of a vehicle; the hulk remains."
    picks = (ObjectKind.VEHICLE,)
    ERROR_FIELDS = {
        "object_unknown": "vehicle",
        "object_ended": "vehicle",
        "not_custodian": "vehicle",
        "lot_overconsumed": "parts",
        "battery_code_invalid": "battery_code",
        "part_code_invalid": "parts",
        "identifier_taken": "parts",
        "document_malformed": "parts",
    }

    vehicle = forms.ChoiceField()
    battery_code = forms.CharField(
        required=False, max_length=200, help_text="GB/T 34014 code or EU identifier; empty: no battery removed"
    )
    battery_chemistry = forms.ChoiceField(choices=Chemistry.choices, required=False)
    battery_kwh = forms.DecimalField(label="Rated energy (kWh)", required=False, **KG)
    battery_kg = forms.DecimalField(label="Battery mass (kg)", required=False, **KG)
    battery_datasheet = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="the maker's data sheet as a JSON object (Battery Pass aspects, GTIN...), read from the pack",
    )
    parts = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="one per line: serial part-type kg [alloy], e.g. W1-FL wheel 10.5 A356",
    )

    def setup(self) -> None:
        self.fields["vehicle"].choices = self.choices((ObjectKind.VEHICLE,))

    def clean_battery_datasheet(self) -> dict[str, object]:
        text = self.cleaned_data.get("battery_datasheet", "").strip()
        if not text:
            return {}
        try:
            sheet = jsonbody.loads(text)
        except jsonbody.JsonBodyError as exc:
            raise ValidationError(f"not JSON: {exc.message}", code="datasheet_invalid") from exc
        if not isinstance(sheet, dict):
            raise ValidationError("the data sheet is a JSON object", code="datasheet_invalid")
        return sheet

    def clean_parts(self) -> list[PartOut]:
        parts = []
        for number, row in enumerate(self.lines("parts", min_columns=3, max_columns=4), start=1):
            attributes = {"alloy": row[3]} if len(row) == 4 else {}
            parts.append(PartOut(row[0], row[1], self.kg(row[2], number), attributes))
        return parts

    def clean(self) -> dict[str, object]:
        d = super().clean() or {}
        if d.get("battery_code"):
            for name in ("battery_chemistry", "battery_kwh", "battery_kg"):
                if not d.get(name):
                    self.add_error(name, ValidationError("needed with a battery", code="required"))
        elif not d.get("parts"):
            self.add_error("parts", ValidationError("remove at least a battery or a part", code="required"))
        return d

    def to_input(self, d: dict) -> dismantling.DismantlingInput:  # type: ignore[type-arg]
        batteries = []
        if d.get("battery_code"):
            batteries.append(
                BatteryOut(
                    d["battery_code"], d["battery_chemistry"], d["battery_kwh"], d["battery_kg"], d["battery_datasheet"]
                )
            )
        return dismantling.DismantlingInput(
            **self.common(d),  # type: ignore[arg-type]
            vehicle=d["vehicle"],
            batteries=batteries,
            parts=d["parts"],
        )


class BatteryGradingForm(OperationForm):
    operation, title = Operation.BATTERY_GRADING, "Battery grading"
    summary = "A removed pack is tested and routed to second life or to recycling."
    picks = tuple(BATTERY_KINDS)
    ERROR_FIELDS = {
        "object_unknown": "battery",
        "not_custodian": "battery",
        "state_of_health_invalid": "state_of_health",
    }

    battery = forms.ChoiceField()
    state_of_health = forms.DecimalField(
        label="State of health (%)", max_digits=5, decimal_places=2, min_value=0, max_value=100
    )
    capacity_kwh = forms.DecimalField(label="Measured capacity (kWh)", **KG)
    route = forms.ChoiceField(choices=[("second_life", "Second life"), ("recycling", "Recycling")])

    def setup(self) -> None:
        self.fields["battery"].choices = self.choices(tuple(BATTERY_KINDS))

    def to_input(self, d: dict) -> battery_grading.BatteryGradingInput:  # type: ignore[type-arg]
        return battery_grading.BatteryGradingInput(
            **self.common(d),  # type: ignore[arg-type]
            battery=d["battery"],
            state_of_health_pct=d["state_of_health"],
            capacity_kwh=d["capacity_kwh"],
            route=d["route"],
        )


INPUT_ERRORS = {
    "object_unknown": "inputs",
    "object_ended": "inputs",
    "not_custodian": "inputs",
    "lot_overconsumed": "inputs",
    "item_not_divisible": "inputs",
    "identifier_invalid": "inputs",
}


class InputsMixin:
    """An ``inputs`` text field: one line per input, ``identifier-or-label [kg]``."""

    def parsed_inputs(self, form: OperationForm, *, whole_items: bool) -> tuple[list[str], list[LotIn]]:
        serialised = {o.identifier for o in form.available if o.kind in SERIALISED_KINDS}
        items, lots = [], []
        rows = form.lines("inputs", min_columns=1, max_columns=2)
        if not rows:
            raise ValidationError("give at least one input", code="required")
        for number, row in enumerate(rows, start=1):
            identifier = form.identifier(row[0], "inputs")
            if len(row) == 1:
                if not whole_items or identifier not in serialised:
                    raise ValidationError(f"line {number}: give the kg taken from {row[0]}", code="kg_missing")
                items.append(identifier)
            else:
                lots.append(LotIn(identifier, form.kg(row[1], number)))
        return items, lots


RECEIVED_KINDS = (ObjectKind.SCRAP_LOT, ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING)


class MaterialReceiptForm(OperationForm):
    operation, title = Operation.MATERIAL_RECEIPT, "Material receipt"
    summary = "A bought lot arrives: primary ingot, alloying additions or scrap."
    # the lots it offers are the aluminium trades' inputs
    roles = frozenset({OrganisationRole.REMELTER, OrganisationRole.DIE_CASTER})
    ERROR_FIELDS = {
        "identifier_taken": "code",
        "lot_code_invalid": "code",
        "generator_footprint_not_pre_consumer": "generator_footprint",
        "generator_footprint_invalid": "generator_footprint",
    }

    kind = forms.ChoiceField(choices=[(k, ObjectKind(k).label) for k in RECEIVED_KINDS])
    code = forms.CharField(label="New lot code", max_length=64)
    mass_kg = forms.DecimalField(label="Mass (kg)", **KG)
    supplier = forms.CharField(max_length=200)
    scrap_category = forms.ChoiceField(
        label="Scrap category", required=False, choices=[("", "—"), *ScrapCategory.choices], help_text="scrap only"
    )
    composition = forms.CharField(required=False, help_text="assay in mass %, e.g. Si=7.1 Fe=0.11 Mg=0.32")
    generator_footprint = forms.DecimalField(
        label="Generator footprint (kg CO2e per kg)",
        required=False,
        min_value=Decimal(0),
        max_digits=16,
        decimal_places=6,
        help_text="pre-consumer scrap only: the supplier's footprint per kg of the product whose process "
        "generated the scrap, charged to the scrap by the allocation method; empty: the registry's default",
    )

    def clean_composition(self) -> dict[str, float]:
        return composition(self.cleaned_data.get("composition", ""))

    def to_input(self, d: dict) -> material_receipt.MaterialReceiptInput:  # type: ignore[type-arg]
        attributes: dict[str, object] = {"supplier": d["supplier"]}
        if d.get("scrap_category"):
            attributes["scrapCategory"] = d["scrap_category"]
        if d.get("composition"):
            attributes["composition"] = d["composition"]
        if d.get("generator_footprint") is not None:
            attributes[material_receipt.GENERATOR_FOOTPRINT] = float(d["generator_footprint"])
        return material_receipt.MaterialReceiptInput(
            **self.common(d),  # type: ignore[arg-type]
            lots=[LotOut(d["kind"], d["mass_kg"], code=d["code"], attributes=attributes)],
        )


class ScrapSortingForm(InputsMixin, MeteredForm):
    operation, title = Operation.SCRAP_SORTING, "Scrap sorting"
    summary = "Parts and lots are sorted into one scrap lot of a category."
    picks = (ObjectKind.PART, ObjectKind.SCRAP_LOT)
    ERROR_FIELDS = {
        **INPUT_ERRORS,
        "mass_unbalanced": "output_kg",
        "identifier_taken": "output_code",
        "scrap_lot_code_invalid": "output_code",
        "scrap_category_invalid": "category",
    }

    inputs = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="one per line: a part's label (used whole), or a lot's label and the kg taken",
    )
    output_code = forms.CharField(label="New lot code", max_length=64)
    category = forms.ChoiceField(choices=ScrapCategory.choices)
    alloy_family = forms.CharField(required=False, max_length=64, help_text="e.g. cast, wrought")
    output_kg = forms.DecimalField(label="Lot mass (kg)", **KG)
    composition = forms.CharField(required=False, help_text="assay in mass %, e.g. Si=7.1 Fe=0.11 Mg=0.32")
    sorting_loss_kg = forms.DecimalField(label="Sorting loss (kg)", required=False, **KG)

    def clean_inputs(self) -> tuple[list[str], list[LotIn]]:
        return self.parsed_inputs(self, whole_items=True)

    def clean_composition(self) -> dict[str, float]:
        return composition(self.cleaned_data.get("composition", ""))

    def to_input(self, d: dict) -> scrap_sorting.ScrapSortingInput:  # type: ignore[type-arg]
        parts, lots = d["inputs"]
        attributes: dict[str, object] = {"scrapCategory": d["category"]}
        if d.get("alloy_family"):
            attributes["alloyFamily"] = d["alloy_family"]
        if d.get("composition"):
            attributes["composition"] = d["composition"]
        return scrap_sorting.ScrapSortingInput(
            **self.common(d),  # type: ignore[arg-type]
            parts=parts,
            lots=lots,
            outputs=[LotOut(ObjectKind.SCRAP_LOT, d["output_kg"], code=d["output_code"], attributes=attributes)],
            losses={"sortingLoss": d.get("sorting_loss_kg") or Decimal(0)},
        )


class RemeltingForm(InputsMixin, OperationForm):
    operation, title = Operation.REMELTING, "Remelting"
    summary = "Scrap, primary ingot and alloying additions are melted into one batch, ladle or ingot lot."
    picks = (ObjectKind.SCRAP_LOT, ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING, *MELT_KINDS)
    ERROR_FIELDS = {
        **INPUT_ERRORS,
        "mass_unbalanced": "melt_loss_kg",
        "identifier_taken": "output_code",
        "melt_batch_code_invalid": "output_code",
        "ingot_lot_code_invalid": "output_code",
        "molten_ladle_code_invalid": "output_code",
        "composition_out_of_spec": "target_alloy",
        "alloy_unknown": "target_alloy",
    }

    inputs = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}), help_text="one per line: a lot's label (or identifier) and the kg"
    )
    output_code = forms.CharField(label="New lot code", max_length=64)
    output_kind = forms.ChoiceField(
        label="Output", choices=[(k, ObjectKind(k).label) for k in MELT_KINDS], initial=ObjectKind.MELT_BATCH
    )
    output_kg = forms.DecimalField(label="Output mass (kg)", **KG)
    melt_loss_kg = forms.DecimalField(label="Melt loss (kg)", **KG)
    dross_kg = forms.DecimalField(label="Dross (kg)", required=False, **KG)
    natural_gas_m3 = forms.DecimalField(label="Natural gas (m³)", **KG)
    electricity_kwh = forms.DecimalField(label="Electricity (kWh)", **KG)
    target_alloy = forms.ChoiceField(required=False, help_text="checked against its composition limits")

    def setup(self) -> None:
        names = AlloySpecification.objects.order_by("name").values_list("name", flat=True)
        self.fields["target_alloy"].choices = [("", "—")] + [(name, name) for name in names]

    def clean_inputs(self) -> list[LotIn]:
        return self.parsed_inputs(self, whole_items=False)[1]

    def to_input(self, d: dict) -> remelting.RemeltingInput:  # type: ignore[type-arg]
        return remelting.RemeltingInput(
            **self.common(d),  # type: ignore[arg-type]
            inputs=d["inputs"],
            output=LotOut(d["output_kind"], d["output_kg"], code=d["output_code"]),
            melt_loss_kg=d["melt_loss_kg"],
            dross_kg=d.get("dross_kg") or Decimal(0),
            natural_gas_m3=d["natural_gas_m3"],
            electricity_kwh=d["electricity_kwh"],
            target_alloy=d.get("target_alloy") or None,
        )


class MoltenTransferForm(OperationForm):
    operation, title = Operation.MOLTEN_TRANSFER, "Molten transfer"
    summary = "Liquid metal goes hot to a nearby die-caster's site, who becomes its custodian."
    picks = MELT_KINDS
    ERROR_FIELDS = {
        "object_unknown": "lot",
        "not_custodian": "lot",
        "object_ended": "lot",
        "lot_overconsumed": "kg",
        "site_unknown": "destination",
        "receiver_cannot_hold": "destination",
        "delivery_invalid": "temperature_c",
    }

    lot = forms.ChoiceField()
    kg = forms.DecimalField(label="Mass (kg)", **KG)
    destination = forms.ModelChoiceField(queryset=Site.objects.none(), help_text="the receiving site")
    temperature_c = forms.DecimalField(label="Temperature (°C)", max_digits=7, decimal_places=1, min_value=0)
    distance_km = forms.DecimalField(label="Distance (km)", **KG)

    def setup(self) -> None:
        self.fields["lot"].choices = self.choices(MELT_KINDS)
        self.fields["destination"].queryset = (
            Site.objects.exclude(organisation=self.organisation)
            .filter(organisation__role__in=RECEIVING_ROLES[ObjectKind.MOLTEN_LADLE])
            .select_related("organisation")
            .order_by("name")
        )
        self.fields["destination"].label_from_instance = lambda site: f"{site.name} ({site.organisation.name})"

    def to_input(self, d: dict) -> molten_transfer.MoltenTransferInput:  # type: ignore[type-arg]
        return molten_transfer.MoltenTransferInput(
            **self.common(d),  # type: ignore[arg-type]
            lot=LotIn(d["lot"], d["kg"]),
            destination=d["destination"],
            temperature_c=d["temperature_c"],
            distance_km=d["distance_km"],
        )


class DieCastingForm(MeteredForm):
    operation, title = Operation.DIE_CASTING, "Die-casting"
    summary = "A melt is cast into serialised parts, run-around scrap and rejects."
    picks = MELT_KINDS
    ERROR_FIELDS = {
        "object_unknown": "melt",
        "not_custodian": "melt",
        "object_ended": "melt",
        "lot_overconsumed": "melt_kg",
        "mass_unbalanced": "casting_loss_kg",
        "identifier_taken": "castings",
        "part_code_invalid": "castings",
        "scrap_lot_code_invalid": "run_around_code",
    }

    melt = forms.ChoiceField()
    melt_kg = forms.DecimalField(label="Melt used (kg)", **KG)
    castings = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="one per line: serial part-type kg [alloy], e.g. TRAY-0001 battery_tray 18.6",
    )
    run_around_code = forms.CharField(label="Run-around scrap lot code", required=False, max_length=64)
    run_around_kg = forms.DecimalField(label="Run-around scrap (kg)", required=False, **KG)
    casting_loss_kg = forms.DecimalField(label="Casting loss (kg)", required=False, **KG)

    def setup(self) -> None:
        self.fields["melt"].choices = self.choices(MELT_KINDS)

    def clean_castings(self) -> list[PartOut]:
        castings = []
        for number, row in enumerate(self.lines("castings", min_columns=3, max_columns=4), start=1):
            attributes = {"alloy": row[3]} if len(row) == 4 else {}
            castings.append(PartOut(row[0], row[1], self.kg(row[2], number), attributes))
        if not castings:
            raise ValidationError("cast at least one part", code="required")
        return castings

    def clean(self) -> dict[str, object]:
        d = super().clean() or {}
        if bool(d.get("run_around_code")) != bool(d.get("run_around_kg")):
            self.add_error("run_around_kg", ValidationError("give both the code and the kg", code="required"))
        return d

    def to_input(self, d: dict) -> die_casting.DieCastingInput:  # type: ignore[type-arg]
        scrap = []
        if d.get("run_around_code"):
            scrap.append(
                LotOut(
                    ObjectKind.SCRAP_LOT,
                    d["run_around_kg"],
                    code=d["run_around_code"],
                    attributes={"scrapSource": "runAround"},
                )
            )
        return die_casting.DieCastingInput(
            **self.common(d),  # type: ignore[arg-type]
            melt=LotIn(d["melt"], d["melt_kg"]),
            castings=d["castings"],
            scrap=scrap,
            losses={"castingLoss": d.get("casting_loss_kg") or Decimal(0)},
        )


class RecycledContentClaimForm(OperationForm):
    operation, title = Operation.RECYCLED_CONTENT_CLAIM, "Recycled-content claim"
    summary = (
        "Claim a quantity of a lot you remelted or refined at a site as recycled content (mass balance). "
        "It draws the site's credits for the year; a claim beyond them is refused and nothing is stored."
    )
    picks = (*MELT_KINDS, ObjectKind.SALT)
    ERROR_FIELDS = {
        "object_unknown": "lot",
        "not_custodian": "lot",
        "object_ended": "lot",
        "lot_not_claimable": "lot",
        "claim_exceeds_lot": "kg",
        "credits_insufficient": "kg",
        "claim_make_not_post_consumer": "vehicle_make",
    }
    lot = forms.ChoiceField()
    kg = forms.DecimalField(label="Claimed (kg)", **KG)
    category = forms.ChoiceField(choices=[(c, c.replace("_", "-").capitalize()) for c in CLAIM_CATEGORIES])
    vehicle_make = forms.CharField(
        required=False,
        max_length=recycled_content_claim.MAKE_MAX_LENGTH,
        help_text="closed loop: the make of the end-of-life vehicles (post-consumer only)",
    )

    def setup(self) -> None:
        self.fields["lot"].choices = self.choices(self.picks)
        self.fields["category"].initial = "post_consumer"

    def clean_kg(self) -> Decimal:
        kg: Decimal = self.cleaned_data["kg"]
        if kg <= 0:
            raise ValidationError("a claim is of a positive mass", code="mass_not_positive")
        return kg

    def to_input(self, d: dict) -> recycled_content_claim.RecycledContentClaimInput:  # type: ignore[type-arg]
        return recycled_content_claim.RecycledContentClaimInput(
            **self.common(d),  # type: ignore[arg-type]
            lot=d["lot"],
            kg=d["kg"],
            category=d["category"],
            vehicle_make=d.get("vehicle_make") or None,
        )


# Who takes each kind of material when custody passes: the next stage of the loop for it
# (ARCHITECTURE: vehicles go to dismantlers, packs to battery recyclers or makers, aluminium
# to remelters, melts to die-casters, salts to battery makers). Never a regulator or the
# platform operator, who hold no material.
RECEIVING_ROLES: dict[str, frozenset[str]] = {
    ObjectKind.VEHICLE: frozenset({OrganisationRole.DISMANTLER}),
    **{kind: frozenset({OrganisationRole.BATTERY_RECYCLER, OrganisationRole.BATTERY_MAKER}) for kind in BATTERY_KINDS},
    ObjectKind.PART: frozenset({OrganisationRole.REMELTER, OrganisationRole.OEM, OrganisationRole.BATTERY_MAKER}),
    ObjectKind.SCRAP_LOT: frozenset({OrganisationRole.REMELTER, OrganisationRole.DIE_CASTER}),
    ObjectKind.BLACK_MASS: frozenset({OrganisationRole.BATTERY_RECYCLER}),
    ObjectKind.BATTERY_FRACTION: frozenset({OrganisationRole.REMELTER, OrganisationRole.BATTERY_RECYCLER}),
    ObjectKind.SALT: frozenset({OrganisationRole.BATTERY_MAKER}),
    ObjectKind.PRIMARY_INGOT: frozenset({OrganisationRole.REMELTER, OrganisationRole.DIE_CASTER}),
    ObjectKind.ALLOYING: frozenset({OrganisationRole.REMELTER, OrganisationRole.DIE_CASTER}),
    ObjectKind.MELT_BATCH: frozenset({OrganisationRole.DIE_CASTER}),
    ObjectKind.MOLTEN_LADLE: frozenset({OrganisationRole.DIE_CASTER}),
    ObjectKind.INGOT_LOT: frozenset({OrganisationRole.DIE_CASTER, OrganisationRole.REMELTER}),
    ObjectKind.CASTING_BATCH: frozenset({OrganisationRole.OEM, OrganisationRole.BATTERY_MAKER}),
}
MASS_KINDS = tuple(kind for kind in ObjectKind if kind not in SERIALISED_KINDS)
# The rules that name one of the objects picked: shown at the picker that chose it.
PICKED_OBJECT_ERRORS = frozenset(
    {"object_unknown", "object_ended", "not_custodian", "lot_overconsumed", "item_not_divisible"}
)


class PickerForm(OperationForm):
    """A form whose inputs are picked from the objects held, with numbered rows of (lot, kg).

    ``rows`` adds ``<prefix>_<n>`` (a lot held) and ``<prefix>_<n>_kg`` (empty: all that remains)
    pairs; a rule broken by one picked object is shown at the picker that chose it."""

    hint = "Pick them in the form."

    def holdings(self) -> list[TraceableObject]:
        """The objects held, with a pack's grading route (``route``), without reading whole data sheets."""
        return list(
            TraceableObject.objects.filter(custodian=self.organisation, status=ObjectStatus.ACTIVE, kind__in=self.picks)
            .annotate(route=KT("attributes__route"))
            .only("identifier", "label", "kind", "remaining_kg")
            .order_by("-created_seq")[:500]
        )

    def rows(self, prefix: str, label: str, kinds: tuple[str, ...], *, count: int, after: str) -> None:
        choices = self.choices(kinds)
        added: dict[str, forms.Field] = {}
        for n in range(1, count + 1):
            added[f"{prefix}_{n}"] = forms.ChoiceField(label=f"{label} {n}", choices=choices, required=n == 1)
            added[f"{prefix}_{n}_kg"] = forms.DecimalField(
                label=f"{label} {n}: kg", required=False, help_text="empty: all that remains", **KG
            )
        fields = list(self.fields.items())
        at = [name for name, _ in fields].index(after) + 1
        self.fields = dict(fields[:at] + list(added.items()) + fields[at:])  # type: ignore[assignment]
        self.row_prefix, self.row_count = prefix, count

    def picked_rows(self, d: dict) -> list[tuple[str, LotIn]]:  # type: ignore[type-arg]
        """(field, lot taken) of each filled row; a lot picked twice is refused at its second row."""
        remaining = {o.identifier: o.remaining_kg for o in self.available}
        taken: list[tuple[str, LotIn]] = []
        for n in range(1, self.row_count + 1):
            name = f"{self.row_prefix}_{n}"
            identifier = d.get(name)
            if not identifier:
                if d.get(f"{name}_kg") is not None:
                    self.add_error(name, ValidationError("pick the lot these kg come from", code="required"))
                continue
            if any(lot.identifier == identifier for _, lot in taken):
                self.add_error(name, ValidationError("this lot is already picked above", code="picked_twice"))
                continue
            kg = d.get(f"{name}_kg")
            if kg is not None and kg <= 0:
                self.add_error(f"{name}_kg", ValidationError("kg must be positive", code="kg_invalid"))
                continue
            taken.append((name, LotIn(identifier, kg if kg is not None else remaining[identifier])))
        return taken

    def picked(self) -> dict[str, str]:
        """Field name by identifier of each object the cleaned data picks."""
        found: dict[str, str] = {}
        for name, value in self.cleaned_data.items():
            for identifier in value if isinstance(value, list) else [value]:
                if isinstance(identifier, str) and identifier in self._labels:
                    found.setdefault(identifier, name)
        return found

    @property
    def _labels(self) -> dict[str, str]:
        return {o.identifier: o.label for o in self.available}

    def field_for(self, error: ApplicationError) -> str | None:
        if error.code in PICKED_OBJECT_ERRORS:
            labels = self._labels
            for identifier, name in self.picked().items():
                if identifier in error.message or re.search(rf"\b{re.escape(labels[identifier])}\b", error.message):
                    # too many kg taken from a lot: shown at the row's kg
                    if error.code == "lot_overconsumed" and f"{name}_kg" in self.fields:
                        return f"{name}_kg"
                    return name
        return super().field_for(error)


class CustodyTransferForm(PickerForm):
    operation, title = Operation.CUSTODY_TRANSFER, "Custody transfer"
    summary = (
        "Items and lots you hold are shipped, whole, to another organisation, which becomes their "
        "custodian when the transfer is recorded."
    )
    picks = tuple(ObjectKind)
    ERROR_FIELDS = {
        "object_unknown": "items",
        "object_ended": "items",
        "not_custodian": "items",
        "organisation_unknown": "receiver",
        "custody_to_self": "receiver",
        "receiver_cannot_hold": "receiver",
    }

    items = forms.MultipleChoiceField(
        label="Items",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="serialised items (Ctrl or Shift to pick several)",
    )
    # Custody passes for a whole object: a transfer names a lot with the kg it has left.
    lots = forms.MultipleChoiceField(
        label="Lots",
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="lots, shipped with all the kg they have left (Ctrl or Shift to pick several)",
    )
    receiver = forms.ModelChoiceField(queryset=Organisation.objects.none(), help_text="who takes custody")

    def setup(self) -> None:
        self.fields["items"].choices = self.choices(SERIALISED_KINDS, blank=False)
        self.fields["lots"].choices = self.choices(MASS_KINDS, blank=False)
        held = {o.kind for o in self.available}
        roles = set().union(*(RECEIVING_ROLES.get(kind, frozenset()) for kind in held)) if held else set()
        self.fields["receiver"].queryset = (
            Organisation.objects.exclude(pk=self.organisation.pk).filter(role__in=roles).order_by("name")
        )
        self.fields["receiver"].label_from_instance = lambda org: f"{org.name} ({org.get_role_display()})"

    def clean(self) -> dict[str, object]:
        d = super().clean() or {}
        shipped = [*(d.get("items") or []), *(d.get("lots") or [])]
        if not shipped and not {"items", "lots"} & set(self.errors):
            self.add_error("items", ValidationError("ship at least one item or lot", code="required"))
        receiver = d.get("receiver")
        if receiver is not None:
            kinds = {o.identifier: o.kind for o in self.available}
            for kind in sorted({kinds[i] for i in shipped if i in kinds}):
                if receiver.role not in RECEIVING_ROLES.get(kind, frozenset()):
                    self.add_error(
                        "receiver",
                        ValidationError(
                            f"{receiver.name} is a {receiver.get_role_display().lower()}: "
                            f"it does not take {ObjectKind(kind).label.lower()}s",
                            code="receiver_unsuited",
                        ),
                    )
        return d

    def to_input(self, d: dict) -> custody_transfer.CustodyTransferInput:  # type: ignore[type-arg]
        remaining = {o.identifier: o.remaining_kg for o in self.available}
        return custody_transfer.CustodyTransferInput(
            **self.common(d),  # type: ignore[arg-type]
            items=d.get("items") or [],
            lots=[LotIn(identifier, remaining[identifier]) for identifier in d.get("lots") or []],
            receiver=d["receiver"],
        )


class RepurposingForm(PickerForm):
    operation, title = Operation.REPURPOSING, "Repurposing"
    summary = (
        "A pack graded for second life continues under a new identity (a new code and passport), "
        "linked to the old one, which ends."
    )
    picks = tuple(BATTERY_KINDS)
    ERROR_FIELDS = {
        "object_unknown": "battery",
        "object_ended": "battery",
        "not_custodian": "battery",
        "lot_overconsumed": "battery",
        "battery_code_invalid": "new_code",
        "identifier_taken": "new_code",
    }

    battery = forms.ChoiceField(label="Battery", help_text="a pack you hold, not graded for recycling")
    new_code = forms.CharField(
        label="New battery code",
        max_length=200,
        help_text="GB/T 34014 code or EU identifier of the second-life battery",
    )
    chemistry = forms.ChoiceField(choices=Chemistry.choices)
    rated_kwh = forms.DecimalField(label="Rated energy (kWh)", help_text="as measured at grading", **KG)
    mass_kg = forms.DecimalField(label="Mass (kg)", **KG)
    application = forms.CharField(max_length=200, help_text="its second life, e.g. stationary energy storage")

    def holdings(self) -> list[TraceableObject]:
        return [o for o in super().holdings() if getattr(o, "route", None) != "recycling"]

    def setup(self) -> None:
        self.fields["battery"].choices = self.choices(self.picks)

    def clean_mass_kg(self) -> Decimal:
        return positive(self.cleaned_data["mass_kg"])

    def clean_rated_kwh(self) -> Decimal:
        return positive(self.cleaned_data["rated_kwh"])

    def to_input(self, d: dict) -> repurposing.RepurposingInput:  # type: ignore[type-arg]
        return repurposing.RepurposingInput(
            **self.common(d),  # type: ignore[arg-type]
            battery=d["battery"],
            new_battery=BatteryOut(d["new_code"], d["chemistry"], d["rated_kwh"], d["mass_kg"]),
            application=d["application"],
        )


def positive(kg: Decimal) -> Decimal:
    if kg <= 0:
        raise ValidationError("must be positive", code="kg_invalid")
    return kg


# The fractions mechanical treatment separates besides black mass (``fraction`` attribute).
FRACTIONS = (("aluminium", "Aluminium"), ("copper", "Copper"), ("steel", "Steel"), ("plastics", "Plastics"))


class BatteryRecyclingForm(PickerForm, MeteredForm):
    operation, title = Operation.BATTERY_RECYCLING, "Battery recycling"
    summary = (
        "Discharged packs are shredded into black mass and fractions (aluminium, copper, steel, plastics); "
        "the packs' passports end. Outputs and loss must add up to the packs' mass."
    )
    picks = tuple(BATTERY_KINDS)
    ERROR_FIELDS = {
        "object_unknown": "batteries",
        "object_ended": "batteries",
        "not_custodian": "batteries",
        "lot_overconsumed": "batteries",
        "mass_unbalanced": "process_loss_kg",
        "identifier_taken": "black_mass_code",
        "lot_code_invalid": "black_mass_code",
    }

    batteries = forms.MultipleChoiceField(
        label="Packs",
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="packs you hold, not graded for second life (Ctrl or Shift to pick several)",
    )
    black_mass_code = forms.CharField(
        label="Black mass lot code", max_length=60, help_text="the fractions' lots are numbered from it, e.g. BM-7-AL"
    )
    black_mass_kg = forms.DecimalField(label="Black mass (kg)", **KG)
    black_mass_composition = forms.CharField(
        label="Black mass assay",
        required=False,
        help_text="mass %, e.g. Ni=20.5 Co=6.4 Mn=6.1 Li=3.7; refining recovers no more metal than it states",
    )
    aluminium_kg = forms.DecimalField(label="Aluminium fraction (kg)", required=False, **KG)
    copper_kg = forms.DecimalField(label="Copper fraction (kg)", required=False, **KG)
    steel_kg = forms.DecimalField(label="Steel fraction (kg)", required=False, **KG)
    plastics_kg = forms.DecimalField(label="Plastics fraction (kg)", required=False, **KG)
    process_loss_kg = forms.DecimalField(label="Process loss (kg)", required=False, **KG)

    def holdings(self) -> list[TraceableObject]:
        return [o for o in super().holdings() if getattr(o, "route", None) != "second_life"]

    def setup(self) -> None:
        self.fields["batteries"].choices = self.choices(self.picks, blank=False)

    def clean_black_mass_kg(self) -> Decimal:
        return positive(self.cleaned_data["black_mass_kg"])

    def clean_black_mass_composition(self) -> dict[str, float]:
        return composition(self.cleaned_data.get("black_mass_composition", ""))

    def to_input(self, d: dict) -> battery_recycling.BatteryRecyclingInput:  # type: ignore[type-arg]
        code = d["black_mass_code"]
        attributes: dict[str, object] = (
            {"composition": d["black_mass_composition"]} if d["black_mass_composition"] else {}
        )
        outputs = [LotOut(ObjectKind.BLACK_MASS, d["black_mass_kg"], code=code, attributes=attributes)]
        for fraction, _ in FRACTIONS:
            if d.get(f"{fraction}_kg"):
                outputs.append(
                    LotOut(
                        ObjectKind.BATTERY_FRACTION,
                        d[f"{fraction}_kg"],
                        code=f"{code}-{fraction[:2].upper()}",
                        attributes={"fraction": fraction},
                    )
                )
        return battery_recycling.BatteryRecyclingInput(
            **self.common(d),  # type: ignore[arg-type]
            batteries=d["batteries"],
            outputs=outputs,
            losses={"processLoss": d.get("process_loss_kg") or Decimal(0)},
        )


# The battery-grade salts refining yields, and the metal each carries (``compound``, ``metal``).
SALT_COMPOUNDS = (
    ("NiSO4.6H2O", "Ni"),
    ("CoSO4.7H2O", "Co"),
    ("MnSO4.H2O", "Mn"),
    ("Li2CO3", "Li"),
    ("LiOH.H2O", "Li"),
)
SALT_METAL = dict(SALT_COMPOUNDS)


class BlackMassRefiningForm(PickerForm, MeteredForm):
    operation, title = Operation.BLACK_MASS_REFINING, "Black mass refining"
    summary = (
        "Black mass is leached and refined into battery-grade salts; no salt may carry more of a metal "
        "than the black mass taken contains (its assay)."
    )
    picks = (ObjectKind.BLACK_MASS,)
    INPUT_ROWS, SALT_ROWS = 2, 4
    ERROR_FIELDS = {
        "object_unknown": "input_1",
        "object_ended": "input_1",
        "not_custodian": "input_1",
        "lot_overconsumed": "input_1_kg",
        "mass_unbalanced": "process_loss_kg",
        "identifier_taken": "salt_1_code",
        "lot_code_invalid": "salt_1_code",
        "salt_invalid": "salt_1_content",
        "recovery_exceeds_input": "salt_1_kg",
    }

    process_loss_kg = forms.DecimalField(
        label="Process loss (kg)", required=False, help_text="mass of the black mass taken that leaves in no salt", **KG
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        for n in range(self.SALT_ROWS, 0, -1):
            salt: dict[str, forms.Field] = {
                f"salt_{n}_compound": forms.ChoiceField(
                    label=f"Salt {n}", required=n == 1, choices=[("", "—"), *((c, c) for c, _ in SALT_COMPOUNDS)]
                ),
                f"salt_{n}_code": forms.CharField(label=f"Salt {n}: lot code", required=False, max_length=64),
                f"salt_{n}_kg": forms.DecimalField(label=f"Salt {n}: kg", required=False, **KG),
                f"salt_{n}_content": forms.DecimalField(
                    label=f"Salt {n}: metal content (%)",
                    required=False,
                    max_digits=6,
                    decimal_places=3,
                    min_value=Decimal(0),
                    max_value=Decimal(100),
                    help_text="mass % of the metal in the salt, from your assay",
                ),
            }
            fields = list(self.fields.items())
            at = [name for name, _ in fields].index(f"{self.row_prefix}_{self.row_count}_kg") + 1
            self.fields = dict(fields[:at] + list(salt.items()) + fields[at:])  # type: ignore[assignment]
        for n in range(1, self.SALT_ROWS + 1):
            self.fields[f"salt_{n}_content"].widget.attrs["aria-describedby"] = f"id_salt_{n}_content_help"

    def setup(self) -> None:
        self.rows("input", "Black mass", self.picks, count=self.INPUT_ROWS, after="event_time")

    def clean(self) -> dict[str, object]:
        d = super().clean() or {}
        d["inputs"] = self.picked_rows(d)
        salts = []
        for n in range(1, self.SALT_ROWS + 1):
            compound = d.get(f"salt_{n}_compound")
            if not compound:
                continue
            missing = [part for part in ("code", "kg", "content") if d.get(f"salt_{n}_{part}") in (None, "")]
            for part in missing:
                self.add_error(f"salt_{n}_{part}", ValidationError("needed with a salt", code="required"))
            if missing:
                continue
            if d[f"salt_{n}_kg"] <= 0 or d[f"salt_{n}_content"] <= 0:
                self.add_error(
                    f"salt_{n}_kg", ValidationError("a salt has a positive mass and metal content", code="kg_invalid")
                )
                continue
            salts.append(
                LotOut(
                    ObjectKind.SALT,
                    d[f"salt_{n}_kg"],
                    code=d[f"salt_{n}_code"],
                    attributes={
                        "compound": compound,
                        "metal": SALT_METAL[compound],
                        "metalContentPct": float(d[f"salt_{n}_content"]),
                    },
                )
            )
        d["salts"] = salts
        return d

    def field_for(self, error: ApplicationError) -> str | None:
        for n in range(1, self.SALT_ROWS + 1):
            code, compound = self.cleaned_data.get(f"salt_{n}_code"), self.cleaned_data.get(f"salt_{n}_compound")
            if error.code in {"identifier_taken", "lot_code_invalid"} and code and code in error.message:
                return f"salt_{n}_code"
            if error.code == "recovery_exceeds_input" and compound and f" of {SALT_METAL[compound]} " in error.message:
                return f"salt_{n}_kg"
        return super().field_for(error)

    def to_input(self, d: dict) -> black_mass_refining.BlackMassRefiningInput:  # type: ignore[type-arg]
        return black_mass_refining.BlackMassRefiningInput(
            **self.common(d),  # type: ignore[arg-type]
            inputs=[lot for _, lot in d["inputs"]],
            salts=d["salts"],
            losses={"processLoss": d.get("process_loss_kg") or Decimal(0)},
        )


# By URL path segment: the operation's name, hyphenated.
FORMS: dict[str, type[OperationForm]] = {
    form.operation.replace("_", "-"): form
    for form in (
        VehicleIntakeForm,
        DismantlingForm,
        BatteryGradingForm,
        RepurposingForm,
        BatteryRecyclingForm,
        BlackMassRefiningForm,
        MaterialReceiptForm,
        ScrapSortingForm,
        RemeltingForm,
        MoltenTransferForm,
        DieCastingForm,
        CustodyTransferForm,
        RecycledContentClaimForm,
    )
}


def first_output(record: EventRecord) -> TraceableObject | None:
    """What a user most likely wants to see after recording: the event's first new object."""
    return TraceableObject.objects.filter(created_seq=record.entry_id).order_by("pk").first()


class SiteForm(forms.Form):
    """A new site of the signed-in member's organisation; the rules are ``site_create``'s."""

    ERROR_FIELDS = {
        "site_name_missing": "name",
        "site_exists": "name",
        "country_unknown": "country",
        "grid_region_unknown": "grid_region",
    }

    name = forms.CharField(max_length=Site._meta.get_field("name").max_length)
    country = forms.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code, e.g. DE")
    grid_region = forms.ChoiceField(
        required=False,
        label="Grid region",
        help_text="whose electricity emission factor prices the site's electricity",
    )
    address = forms.CharField(required=False, max_length=Site._meta.get_field("address").max_length)

    def __init__(self, *args: object, organisation: Organisation, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.organisation = organisation
        self.fields["grid_region"].choices = [("", "The country's, else default")] + [
            (region, region) for region in sorted(grid_regions())
        ]

    def save(self) -> Site | None:
        """The new site; None with the failed rule shown at its field."""
        d = self.cleaned_data
        try:
            return site_create(
                organisation=self.organisation,
                name=d["name"],
                country=d["country"],
                grid_region=d["grid_region"] or None,
                address=d["address"],
            )
        except ApplicationError as error:
            self.add_error(self.ERROR_FIELDS.get(error.code), ValidationError(error.message, code=error.code))
            return None
