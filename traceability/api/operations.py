"""POST endpoints, one per lifecycle operation.

Each serializer validates the body and converts every quantity with its unit (pint)
to the service's units, into the operation's typed input; each view hands that to
``operation_record`` (which checks every rule) and answers 201 with the event it
recorded. Bodies name units explicitly: ``{"value": 1.2, "unit": "t"}`` or ``"1.2 t"``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from traceability.api import operation_docs
from traceability.api.authentication import request_organisation
from traceability.api.idempotency import idempotent
from traceability.choices import CLAIM_CATEGORIES, Chemistry, ObjectKind, Operation, ScrapCategory
from traceability.errors import ApplicationError
from traceability.models import EventRecord, Organisation, Site
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
from traceability.operations.services import operation_authorise, operation_record
from traceability.units import to_kg, to_unit

# Ids are 64-bit in the database: a larger number is no id, and must not reach a query.
DATABASE_ID_MAX = 2**63 - 1


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "object",
                "properties": {"value": {"type": "number"}, "unit": {"type": "string"}},
                "required": ["value", "unit"],
            },
            {"type": "string", "example": "1.2 t"},
        ]
    }
)
class QuantityField(serializers.Field):
    """A quantity with its unit, converted to ``unit`` (kilograms when ``mass``)."""

    def __init__(self, unit: str = "kg", *, mass: bool = True, **kwargs: object) -> None:
        self.unit = unit
        self.mass = mass
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> Decimal:
        name = self.field_name or "quantity"
        try:
            if self.mass:
                return to_kg(data, field=name)
            value = to_unit(data, self.unit, field=name)
        except ApplicationError as exc:
            raise serializers.ValidationError(exc.message, code=exc.code) from exc
        if value < 0:
            raise serializers.ValidationError(f"{name} cannot be negative", code="quantity_negative")
        return value

    def to_representation(self, value: Decimal) -> dict[str, object]:
        return {"value": float(value), "unit": self.unit}


class Base(serializers.Serializer):
    site = serializers.IntegerField(min_value=1, max_value=DATABASE_ID_MAX, help_text="id of one of your sites")
    eventTime = serializers.DateTimeField(required=False, help_text="when it happened (default: now)")

    def validate_site(self, value: int) -> Site:
        # Whose site it is, the engine checks with every other rule.
        site = Site.objects.select_related("organisation").filter(pk=value).first()
        if site is None:
            raise serializers.ValidationError("not one of your sites", code="site_not_yours")
        return site

    def to_input(self, d: dict) -> object:
        """The operation's typed input, from the validated body."""
        raise NotImplementedError


class LotOutSerializer(serializers.Serializer):
    code = serializers.CharField(required=False, default="", max_length=64)
    identifier = serializers.CharField(required=False, default="", max_length=200)
    mass = QuantityField()
    attributes = serializers.DictField(required=False, default=dict)

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if not attrs["code"] and not attrs["identifier"]:
            raise serializers.ValidationError("give a code (numbered by you) or an identifier (EPC)")
        return attrs


class CompositionLotSerializer(LotOutSerializer):
    composition = serializers.DictField(child=serializers.FloatField(min_value=0, max_value=100), required=False)


class LotInSerializer(serializers.Serializer):
    identifier = serializers.CharField(max_length=200)
    mass = QuantityField()


class PartOutSerializer(serializers.Serializer):
    serial = serializers.CharField(max_length=64)
    partType = serializers.CharField(max_length=64)
    mass = QuantityField()
    alloy = serializers.CharField(required=False, max_length=64)


class BatteryOutSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=200, help_text="GB/T 34014-2017 code, or an EU identifier / EPC URI")
    chemistry = serializers.ChoiceField(choices=Chemistry.choices)
    ratedEnergy = QuantityField("kWh", mass=False)
    mass = QuantityField()


def lot_out(data: dict[str, object], kind: str, **extra: object) -> LotOut:
    attributes = {**data.get("attributes", {}), **extra}
    if data.get("composition"):
        attributes["composition"] = data["composition"]
    return LotOut(kind, data["mass"], data["code"], data["identifier"], attributes)


def lot_in(data: dict[str, object]) -> LotIn:
    return LotIn(data["identifier"], data["mass"])


def part_out(data: dict[str, object]) -> PartOut:
    attributes = {"alloy": data["alloy"]} if data.get("alloy") else {}
    return PartOut(data["serial"], data["partType"], data["mass"], attributes)


def battery_out(data: dict[str, object]) -> BatteryOut:
    return BatteryOut(data["code"], data["chemistry"], data["ratedEnergy"], data["mass"])


def losses(**named: Decimal | None) -> dict[str, Decimal]:
    return {name: kg for name, kg in named.items() if kg}


class Metered(Base):
    """An operation that may record the process energy it used (optional; the same fields as remelting's)."""

    electricity = QuantityField("kWh", mass=False, required=False, help_text="metered electricity")
    naturalGas = QuantityField("m**3", mass=False, required=False, help_text="metered natural gas")


def energy(d: dict) -> Energy | None:
    """The metered energy of a validated body, or None when neither field was given."""
    if d.get("electricity") is None and d.get("naturalGas") is None:
        return None
    return Energy(electricity_kwh=d.get("electricity") or Decimal(0), natural_gas_m3=d.get("naturalGas") or Decimal(0))


class VehicleIntake(Base):
    vin = serializers.CharField(max_length=17, min_length=17)
    mass = QuantityField()
    make = serializers.CharField(max_length=64)
    model = serializers.CharField(max_length=64)
    modelYear = serializers.IntegerField(required=False, min_value=1950, max_value=2100)

    def to_input(self, d: dict) -> vehicle_intake.VehicleIntakeInput:
        return vehicle_intake.VehicleIntakeInput(
            site=d["site"],
            vin=d["vin"],
            kg=d["mass"],
            make=d["make"],
            model=d["model"],
            model_year=d.get("modelYear"),
            event_time=d.get("eventTime"),
        )


class MaterialReceipt(Base):
    class Lot(CompositionLotSerializer):
        kind = serializers.ChoiceField(choices=[ObjectKind.PRIMARY_INGOT, ObjectKind.ALLOYING, ObjectKind.SCRAP_LOT])
        supplier = serializers.CharField(max_length=200)
        scrapCategory = serializers.ChoiceField(choices=ScrapCategory.choices, required=False)
        generatorFootprint = QuantityField(
            "kg/kg",
            mass=False,
            required=False,
            help_text="pre-consumer scrap only: the supplier's footprint of the product whose process generated "
            "the scrap, kg CO2e per kg (e.g. '7.5 kg/kg'), which the allocation method charges the scrap with; "
            "left out, the registry's pre_consumer_generator default applies",
        )

    lots = Lot(many=True, allow_empty=False)

    def to_input(self, d: dict) -> material_receipt.MaterialReceiptInput:
        lots = []
        for lot in d["lots"]:
            extra: dict[str, object] = {"supplier": lot["supplier"]}
            if lot.get("scrapCategory"):
                extra["scrapCategory"] = lot["scrapCategory"]
            if lot.get("generatorFootprint") is not None:
                extra[material_receipt.GENERATOR_FOOTPRINT] = float(lot["generatorFootprint"])
            lots.append(lot_out(lot, lot["kind"], **extra))
        return material_receipt.MaterialReceiptInput(site=d["site"], lots=lots, event_time=d.get("eventTime"))


class Dismantling(Metered):
    vehicle = serializers.CharField(max_length=200, help_text="the vehicle's identifier (urn:looptrace:vin:...)")
    batteries = BatteryOutSerializer(many=True, required=False, default=list)
    parts = PartOutSerializer(many=True, required=False, default=list)

    def to_input(self, d: dict) -> dismantling.DismantlingInput:
        return dismantling.DismantlingInput(
            site=d["site"],
            vehicle=d["vehicle"],
            batteries=[battery_out(b) for b in d["batteries"]],
            parts=[part_out(p) for p in d["parts"]],
            energy=energy(d),
            event_time=d.get("eventTime"),
        )


class BatteryGrading(Base):
    battery = serializers.CharField(max_length=200)
    stateOfHealth = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, help_text="percent"
    )
    capacity = QuantityField("kWh", mass=False)
    route = serializers.ChoiceField(choices=["second_life", "recycling"])

    def to_input(self, d: dict) -> battery_grading.BatteryGradingInput:
        return battery_grading.BatteryGradingInput(
            site=d["site"],
            battery=d["battery"],
            state_of_health_pct=d["stateOfHealth"],
            capacity_kwh=d["capacity"],
            route=d["route"],
            event_time=d.get("eventTime"),
        )


class Repurposing(Base):
    battery = serializers.CharField(max_length=200)
    newBattery = BatteryOutSerializer()
    application = serializers.CharField(max_length=200)

    def to_input(self, d: dict) -> repurposing.RepurposingInput:
        return repurposing.RepurposingInput(
            site=d["site"],
            battery=d["battery"],
            new_battery=battery_out(d["newBattery"]),
            application=d["application"],
            event_time=d.get("eventTime"),
        )


class BatteryRecycling(Metered):
    batteries = serializers.ListField(child=serializers.CharField(max_length=200), allow_empty=False)
    blackMass = CompositionLotSerializer()
    fractions = LotOutSerializer(many=True, required=False, default=list)
    losses = QuantityField(required=False)

    def to_input(self, d: dict) -> battery_recycling.BatteryRecyclingInput:
        outputs = [lot_out(d["blackMass"], ObjectKind.BLACK_MASS)]
        outputs += [lot_out(f, ObjectKind.BATTERY_FRACTION) for f in d["fractions"]]
        return battery_recycling.BatteryRecyclingInput(
            site=d["site"],
            batteries=d["batteries"],
            outputs=outputs,
            losses=losses(processLoss=d.get("losses")),
            energy=energy(d),
            event_time=d.get("eventTime"),
        )


class BlackMassRefining(Metered):
    class Salt(LotOutSerializer):
        compound = serializers.CharField(max_length=64)
        metal = serializers.CharField(max_length=8)
        metalContent = serializers.FloatField(min_value=0, max_value=100, help_text="mass % of the metal")

    inputs = LotInSerializer(many=True, allow_empty=False)
    salts = Salt(many=True, allow_empty=False)
    losses = QuantityField(required=False)

    def to_input(self, d: dict) -> black_mass_refining.BlackMassRefiningInput:
        salts = [
            lot_out(s, ObjectKind.SALT, compound=s["compound"], metal=s["metal"], metalContentPct=s["metalContent"])
            for s in d["salts"]
        ]
        return black_mass_refining.BlackMassRefiningInput(
            site=d["site"],
            inputs=[lot_in(i) for i in d["inputs"]],
            salts=salts,
            losses=losses(processLoss=d.get("losses")),
            energy=energy(d),
            event_time=d.get("eventTime"),
        )


class ScrapSorting(Metered):
    class ScrapLot(CompositionLotSerializer):
        scrapCategory = serializers.ChoiceField(choices=ScrapCategory.choices)
        alloyFamily = serializers.CharField(max_length=64, required=False)

    parts = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    lots = LotInSerializer(many=True, required=False, default=list)
    outputs = ScrapLot(many=True, allow_empty=False)
    sortingLoss = QuantityField(required=False)

    def to_input(self, d: dict) -> scrap_sorting.ScrapSortingInput:
        outputs = []
        for lot in d["outputs"]:
            extra = {"scrapCategory": lot["scrapCategory"]}
            if lot.get("alloyFamily"):
                extra["alloyFamily"] = lot["alloyFamily"]
            outputs.append(lot_out(lot, ObjectKind.SCRAP_LOT, **extra))
        return scrap_sorting.ScrapSortingInput(
            site=d["site"],
            parts=d["parts"],
            lots=[lot_in(i) for i in d["lots"]],
            outputs=outputs,
            losses=losses(sortingLoss=d.get("sortingLoss")),
            energy=energy(d),
            event_time=d.get("eventTime"),
        )


class Remelting(Base):
    class Melt(LotOutSerializer):
        kind = serializers.ChoiceField(
            choices=[ObjectKind.MELT_BATCH, ObjectKind.INGOT_LOT, ObjectKind.MOLTEN_LADLE], default="melt_batch"
        )

    inputs = LotInSerializer(many=True, allow_empty=False)
    output = Melt()
    meltLoss = QuantityField()
    dross = QuantityField(required=False)
    naturalGas = QuantityField("m**3", mass=False)
    electricity = QuantityField("kWh", mass=False)
    targetAlloy = serializers.CharField(required=False, max_length=64)

    def to_input(self, d: dict) -> remelting.RemeltingInput:
        return remelting.RemeltingInput(
            site=d["site"],
            inputs=[lot_in(i) for i in d["inputs"]],
            output=lot_out(d["output"], d["output"]["kind"]),
            melt_loss_kg=d["meltLoss"],
            dross_kg=d.get("dross") or Decimal(0),
            natural_gas_m3=d["naturalGas"],
            electricity_kwh=d["electricity"],
            target_alloy=d.get("targetAlloy"),
            event_time=d.get("eventTime"),
        )


class MoltenTransfer(Base):
    lot = LotInSerializer()
    destinationSite = serializers.IntegerField(min_value=1, max_value=DATABASE_ID_MAX)
    temperature = QuantityField("degC", mass=False)
    distance = QuantityField("km", mass=False)

    def validate_destinationSite(self, value: int) -> Site:
        site = Site.objects.filter(pk=value).first()
        if site is None:
            raise serializers.ValidationError("no such site", code="site_unknown")
        return site

    def to_input(self, d: dict) -> molten_transfer.MoltenTransferInput:
        return molten_transfer.MoltenTransferInput(
            site=d["site"],
            lot=lot_in(d["lot"]),
            destination=d["destinationSite"],
            temperature_c=d["temperature"],
            distance_km=d["distance"],
            event_time=d.get("eventTime"),
        )


class DieCasting(Metered):
    melt = LotInSerializer()
    castings = PartOutSerializer(many=True, allow_empty=False)
    runAround = LotOutSerializer(required=False)
    rejects = LotOutSerializer(required=False)
    castingLoss = QuantityField(required=False)

    def to_input(self, d: dict) -> die_casting.DieCastingInput:
        scrap = [
            lot_out(d[name], ObjectKind.SCRAP_LOT, scrapSource=name) for name in ("runAround", "rejects") if d.get(name)
        ]
        return die_casting.DieCastingInput(
            site=d["site"],
            melt=lot_in(d["melt"]),
            castings=[part_out(c) for c in d["castings"]],
            scrap=scrap,
            losses=losses(castingLoss=d.get("castingLoss")),
            energy=energy(d),
            event_time=d.get("eventTime"),
        )


class CustodyTransfer(Base):
    items = serializers.ListField(child=serializers.CharField(max_length=200), required=False, default=list)
    lots = LotInSerializer(many=True, required=False, default=list)
    receiver = serializers.SlugRelatedField(slug_field="slug", queryset=Organisation.objects.all())

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if not attrs["items"] and not attrs["lots"]:
            raise serializers.ValidationError("ship at least one item or lot")
        return attrs

    def to_input(self, d: dict) -> custody_transfer.CustodyTransferInput:
        return custody_transfer.CustodyTransferInput(
            site=d["site"],
            items=d["items"],
            lots=[lot_in(i) for i in d["lots"]],
            receiver=d["receiver"],
            event_time=d.get("eventTime"),
        )


class RecycledContentClaim(Base):
    lot = serializers.CharField(max_length=200, help_text="identifier of a lot remelted or refined at the site")
    mass = QuantityField(help_text="the quantity of the lot claimed as recycled content")
    category = serializers.ChoiceField(choices=list(CLAIM_CATEGORIES))
    vehicleMake = serializers.CharField(
        required=False, max_length=recycled_content_claim.MAKE_MAX_LENGTH, help_text="closed loop: post-consumer only"
    )

    def validate_mass(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("a claim is of a positive mass", code="mass_not_positive")
        return value

    def validate(self, attrs: dict[str, object]) -> dict[str, object]:
        if attrs.get("vehicleMake") and attrs["category"] != "post_consumer":
            raise serializers.ValidationError(
                {"vehicleMake": "only a post-consumer claim names a vehicle make (closed loop)"},
                code="claim_make_not_post_consumer",
            )
        return attrs

    def to_input(self, d: dict) -> recycled_content_claim.RecycledContentClaimInput:
        """Claim a quantity of a lot as recycled content (mass balance): it draws on the site's
        credits for the year of the event; beyond them, 409 `credits_insufficient` and nothing is stored."""
        return recycled_content_claim.RecycledContentClaimInput(
            site=d["site"],
            lot=d["lot"],
            kg=d["mass"],
            category=d["category"],
            vehicle_make=d.get("vehicleMake") or None,
            event_time=d.get("eventTime"),
        )


SERIALIZERS: dict[Operation, type[Base]] = {
    Operation.VEHICLE_INTAKE: VehicleIntake,
    Operation.MATERIAL_RECEIPT: MaterialReceipt,
    Operation.DISMANTLING: Dismantling,
    Operation.BATTERY_GRADING: BatteryGrading,
    Operation.REPURPOSING: Repurposing,
    Operation.BATTERY_RECYCLING: BatteryRecycling,
    Operation.BLACK_MASS_REFINING: BlackMassRefining,
    Operation.SCRAP_SORTING: ScrapSorting,
    Operation.REMELTING: Remelting,
    Operation.MOLTEN_TRANSFER: MoltenTransfer,
    Operation.DIE_CASTING: DieCasting,
    Operation.CUSTODY_TRANSFER: CustodyTransfer,
    Operation.RECYCLED_CONTENT_CLAIM: RecycledContentClaim,
}
# By URL path segment: the operation's name, hyphenated.
OPERATIONS: dict[str, type[Base]] = {
    operation.replace("_", "-"): serializer for operation, serializer in SERIALIZERS.items()
}


class RecordedEventSerializer(serializers.ModelSerializer):
    seq = serializers.IntegerField(source="entry_id")
    eventTime = serializers.DateTimeField(source="event_time")
    entryHash = serializers.CharField(source="entry.entry_hash")
    organisation = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    objects = serializers.SlugRelatedField(source="involved", slug_field="identifier", many=True, read_only=True)
    created = serializers.SerializerMethodField(help_text="identifiers this event created, in the order given")

    class Meta:
        model = EventRecord
        fields = [
            "seq",
            "operation",
            "eventTime",
            "organisation",
            "site",
            "entryHash",
            "objects",
            "created",
            "warnings",
        ]

    def get_created(self, record: EventRecord) -> list[str]:
        made = record.involved.filter(created_seq=record.entry_id).order_by("pk")
        return list(made.values_list("identifier", flat=True))


def operation_view(name: str, serializer_class: type[Base]) -> Callable[..., Response]:
    operation = Operation(name.replace("-", "_"))

    class OperationView(APIView):
        @extend_schema(
            request=serializer_class,
            examples=operation_docs.request_examples(name),
            responses=operation_docs.responses(name, RecordedEventSerializer),
            summary=f"Record {name.replace('-', ' ')}",
            description=(serializer_class.to_input.__doc__ or "") + " Send `Idempotency-Key` to make a retry safe.",
            tags=["operations"],
            operation_id=f"operations_{name.replace('-', '_')}",
        )
        @idempotent
        def post(self, request: Request) -> Response:
            organisation = request_organisation(request)
            # Before the body is read: a caller who may never record this learns so first.
            authorisation = operation_authorise(organisation=organisation, operation=operation)
            payload = serializer_class(data=request.data)
            payload.is_valid(raise_exception=True)
            record = operation_record(
                organisation=organisation, data=payload.to_input(payload.validated_data), authorisation=authorisation
            )
            return Response(RecordedEventSerializer(record).data, status=status.HTTP_201_CREATED)

    OperationView.__name__ = f"{serializer_class.__name__}View"
    return OperationView.as_view()
