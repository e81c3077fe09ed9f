"""EPCIS query parameters answered from the stored event itself, and from master data.

The query index keeps the fields most queries filter on; the others (extension fields, ILMD,
business transactions, sources and destinations, persistent dispositions, sensor reports,
quantities) are tested on the ledger entry's document as jsonb: containment (``@>``) and key
existence (``?``) are answered by the GIN index ``ledger_entry_document_jsonb``; quantity
ranges are tested on the events the other conditions select, walking in ledger order up to
the page size. ``WD_readPoint`` and ``WD_bizLocation`` read the location hierarchy that
captured master data declares (``EpcisLocationChild``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from django.db.models import BooleanField, F, Func, JSONField, Q, QuerySet, Value
from django.db.models.functions import Cast

from traceability.epcis.core.vocabulary import CBV_ROOT, full_uri, terms
from traceability.errors import ApplicationError
from traceability.models import EpcisEvent, EpcisLocationChild, Organisation

# Levels of children and locations one WD_ parameter follows at most.
MAX_HIERARCHY_DEPTH = 10
MAX_DESCENDANTS = 2_000
MAX_FIELD_NAME = 200
QUANTITY_LISTS = ("quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList")
QUANTITY_OPERATORS = {"EQ": "==", "GT": ">", "GE": ">=", "LT": "<", "LE": "<="}
QUANTITY_PARAMETERS = frozenset(f"{op}_quantity" for op in QUANTITY_OPERATORS)
WD_FILTERS = {"WD_readPoint": "read_point", "WD_bizLocation": "biz_location"}
PERSISTENT_DISPOSITION = {"EQ_persistentDisposition_set": "set", "EQ_persistentDisposition_unset": "unset"}
# EQ_<type>_... parameters of typed lists: (list field, element value field, vocabulary of the type).
TYPED_LISTS = {
    "EQ_bizTransaction_": ("bizTransactionList", "bizTransaction", "bizTransactionType"),
    "EQ_source_": ("sourceList", "source", "sourceDestType"),
    "EQ_destination_": ("destinationList", "destination", "sourceDestType"),
}
# Sensor parameters: the sensorElementList member and field each one compares.
SENSOR_FILTERS = {
    "EQ_type": ("sensorReport", "type"),
    "EQ_deviceID": ("sensorReport", "deviceID"),
    "EQ_dataProcessingMethod": ("sensorReport", "dataProcessingMethod"),
    "EQ_microorganism": ("sensorReport", "microorganism"),
    "EQ_chemicalSubstance": ("sensorReport", "chemicalSubstance"),
    "EQ_stringValue": ("sensorReport", "stringValue"),
    "EQ_hexBinaryValue": ("sensorReport", "hexBinaryValue"),
    "EQ_uriValue": ("sensorReport", "uriValue"),
    "EQ_booleanValue": ("sensorReport", "booleanValue"),
    "EQ_bizRules": ("sensorMetadata", "bizRules"),
}
ERROR_DECLARATION_FILTERS = {"EQ_errorReason": "reason", "EQ_correctiveEventID": "correctiveEventIDs"}
GS1_VOC = "https://gs1.org/voc/"
# Parameters with a prefix whose rest names a field (or a type): answered by ``document_filter``.
FIELD_PREFIXES = ("EQ_ILMD_", "EXISTS_ILMD_", *TYPED_LISTS, "EXISTS_", "EQ_")
# Prefixes of standard parameters this server does not answer: not taken for extension fields.
UNANSWERED = ("EQ_INNER_", "EXISTS_INNER_", "GT_", "GE_", "LT_", "LE_", "MATCH_", "WD_", "HASATTR_", "EQATTR_")


def _parameter_error(name: str, message: str) -> ApplicationError:
    return ApplicationError("query_parameter_invalid", f"{name}: {message}", extra={"parameter": name})


def _document() -> Cast:
    return Cast(F("entry__document"), output_field=JSONField())


def _contains(shape: object) -> Q:
    return Q(epcis_document__contains=shape)


def _with_document(events: QuerySet[EpcisEvent]) -> QuerySet[EpcisEvent]:
    if "epcis_document" in events.query.annotations:
        return events
    return events.alias(epcis_document=_document())


def vocabulary_forms(kind: str, value: str) -> list[str]:
    """Every way an event may write a vocabulary value: bare word, CBV 2.0 Web URI, CBV 1.x URN."""
    full = full_uri(kind, value)
    forms = [value, full, *(word for word, uri in terms(kind).items() if uri == full)]
    if full.startswith(CBV_ROOT):
        local = full.removeprefix(CBV_ROOT)
        kind_prefix, _, word = local.partition("-")
        urn_kind = {"BizStep": "bizstep", "Disp": "disp", "BTT": "btt", "SDT": "sdt", "ER": "er"}.get(kind_prefix)
        if urn_kind:
            forms.append(f"urn:epcglobal:cbv:{urn_kind}:{word}")
    return list(dict.fromkeys(forms))


def _typed_values(text: str) -> list[object]:
    """A query value as the JSON values it may stand for: the string, and a number or boolean."""
    values: list[object] = [text]
    if text in {"true", "false"}:
        values.append(text == "true")
    try:
        number = float(text)
    except ValueError:
        return values
    if number == number and abs(number) != float("inf"):
        values.append(int(number) if number.is_integer() else number)
    return values


def _field_name(name: str, field: str) -> str:
    if not field or len(field) > MAX_FIELD_NAME:
        raise _parameter_error(name, f"names no field (at most {MAX_FIELD_NAME} characters)")
    return field


def is_document_parameter(name: str) -> bool:
    if name in QUANTITY_PARAMETERS or name in WD_FILTERS or name in PERSISTENT_DISPOSITION:
        return True
    if name in SENSOR_FILTERS or name in ERROR_DECLARATION_FILTERS:
        return True
    if name.startswith(UNANSWERED):
        return False
    return name.startswith(FIELD_PREFIXES)


def _any_of(shapes: Iterable[object]) -> Q:
    condition = Q(pk__in=[])
    for shape in shapes:
        condition |= _contains(shape)
    return condition


def _condition(name: str, values: list[str]) -> Q:
    """The containment or key test of one parameter (``values``: its pipe-separated values)."""
    if name in PERSISTENT_DISPOSITION:
        key = PERSISTENT_DISPOSITION[name]
        forms = [f for v in values for f in vocabulary_forms("disposition", v)]
        return _any_of({"persistentDisposition": {key: [form]}} for form in forms)
    if name in SENSOR_FILTERS:
        member, field = SENSOR_FILTERS[name]
        written: list[object] = []
        for v in values:
            written += _typed_values(v) if field == "booleanValue" else [v]
            if field == "type" and ":" not in v:
                written += [f"gs1:{v}", GS1_VOC + v]
        if member == "sensorReport":
            return _any_of({"sensorElementList": [{member: [{field: w}]}]} for w in written)
        return _any_of({"sensorElementList": [{member: {field: w}}]} for w in written)
    if name in ERROR_DECLARATION_FILTERS:
        field = ERROR_DECLARATION_FILTERS[name]
        if field == "reason":
            forms = [f for v in values for f in vocabulary_forms("errorReason", v)]
            return _any_of({"errorDeclaration": {"reason": form}} for form in forms)
        return _any_of({"errorDeclaration": {field: [v]}} for v in values)
    for prefix, (list_field, value_field, kind) in TYPED_LISTS.items():
        if name.startswith(prefix):
            types = vocabulary_forms(kind, _field_name(name, name.removeprefix(prefix)))
            return _any_of({list_field: [{"type": t, value_field: v}]} for t in types for v in values)
    if name.startswith("EQ_ILMD_"):
        field = _field_name(name, name.removeprefix("EQ_ILMD_"))
        return _any_of({"ilmd": {field: value}} for v in values for value in _typed_values(v))
    if name.startswith("EXISTS_ILMD_"):
        field = _field_name(name, name.removeprefix("EXISTS_ILMD_"))
        return Q(epcis_document__ilmd__has_key=field)
    if name.startswith("EXISTS_"):
        return Q(epcis_document__has_key=_field_name(name, name.removeprefix("EXISTS_")))
    field = _field_name(name, name.removeprefix("EQ_"))
    return _any_of({field: value} for v in values for value in _typed_values(v))


class _JsonPathExists(Func):
    function = "jsonb_path_exists"
    output_field = BooleanField()


def _quantity_condition(name: str, text: str, events: QuerySet[EpcisEvent]) -> QuerySet[EpcisEvent]:
    try:
        number = float(text)
    except ValueError as exc:
        raise _parameter_error(name, "must be a number") from exc
    if number != number or abs(number) == float("inf"):
        raise _parameter_error(name, "must be a finite number")
    operator = QUANTITY_OPERATORS[name.partition("_")[0]]
    variables = Cast(Value(json.dumps({"q": number})), output_field=JSONField())
    condition = Q(pk__in=[])
    for position, field in enumerate(QUANTITY_LISTS):
        path = Func(Value(f'$."{field}"[*] ? (@.quantity {operator} $q)'), template="%(expressions)s::jsonpath")
        alias = f"{name.lower()}_{position}"
        events = events.alias(**{alias: _JsonPathExists(F("epcis_document"), path, variables)})
        condition |= Q(**{alias: True}) & Q(epcis_document__has_key=field)
    return events.filter(condition)


def _descendants(values: list[str]) -> dict[int, set[str]]:
    """Per declaring organisation, the locations its master data puts below ``values`` (at any depth)."""
    found: dict[int, set[str]] = {}
    frontier: set[tuple[int | None, str]] = {(None, v) for v in values}
    total = 0
    for _ in range(MAX_HIERARCHY_DEPTH):
        parents = {parent for _, parent in frontier}
        rows = EpcisLocationChild.objects.filter(parent__in=parents).values_list("organisation_id", "parent", "child")
        following: set[tuple[int | None, str]] = set()
        for organisation_id, parent, child in rows[: MAX_DESCENDANTS + 1]:
            if (None, parent) not in frontier and (organisation_id, parent) not in frontier:
                continue
            known = found.setdefault(organisation_id, set())
            if child not in known:
                known.add(child)
                following.add((organisation_id, child))
                total += 1
        if total > MAX_DESCENDANTS:
            raise ApplicationError(
                "query_too_large",
                f"the locations below these hold more than {MAX_DESCENDANTS} descendants; name lower ones",
                status=413,
            )
        if not following:
            break
        frontier = following
    return found


def _within(name: str, field: str, values: list[str], organisation: Organisation) -> Q:
    """The location itself, or one its declarer's master data, or the caller's, puts below it."""
    condition = Q(**{f"{field}__in": values})
    for declarer, locations in _descendants(values).items():
        located = Q(**{f"{field}__in": sorted(locations)})
        condition |= located if declarer == organisation.pk else located & Q(organisation_id=declarer)
    return condition


def document_filter(
    events: QuerySet[EpcisEvent],
    *,
    name: str,
    params: Mapping[str, str],
    values: list[str],
    organisation: Organisation,
) -> QuerySet[EpcisEvent]:
    """``events`` narrowed by one parameter ``is_document_parameter`` accepts."""
    if name in WD_FILTERS:
        return events.filter(_within(name, WD_FILTERS[name], values, organisation))
    events = _with_document(events)
    if name in QUANTITY_PARAMETERS:
        return _quantity_condition(name, params[name], events)
    return events.filter(_condition(name, values))
