"""Mass-balance accounts of sites: read them, and check a recycled-content claim against one.

A site's account for a period (a calendar year, UTC) is replayed from the ledger in order:
every remelting or black-mass refining of the site in the year credits it with its inputs'
recycled content in output-equivalent kg (``carbon.engine.account``), each recorded claim
draws it down. The inputs' shares are their stored mass-balance results, so the replay reads
results up to the carbon cursor: the recording check first brings them to the ledger's head
(the catch-up, inline), a read reports the ledger size its figures stand at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import QuerySet

from carbon import graph
from carbon.engine import CarbonError, Claim, Shares
from carbon.engine.account import Account, Credit, credit_of, mix
from carbon.engine.model import CUT_OFF, MASS_BALANCE
from carbon.factors import FactorBook
from carbon.models import FootprintResult, LedgerCursor
from carbon.services import ACCOUNT_OPERATIONS, CURSOR, footprints_catch_up
from traceability.errors import ApplicationError
from traceability.models import EventRecord, Site, TraceableObject


@dataclass(frozen=True)
class Entry:
    """One line of an account: a credit (a melt) or a claim, and the balance after it."""

    seq: int
    event_time: datetime
    kind: str  # "credit" or "claim"
    operation: str
    lots: tuple[str, ...]
    amount: Credit
    category: str | None
    vehicle_make: str | None
    balance: Credit


@dataclass(frozen=True)
class Statement:
    site: Site
    period: str
    ledger_size: int
    entries: tuple[Entry, ...]
    credited: Credit
    claimed: Credit
    available: Credit


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """The start and end of ``period``, a calendar year (UTC) written with four digits."""
    if not (period.isascii() and period.isdigit() and len(period) == 4 and "1000" <= period <= "9998"):
        raise ApplicationError("period_invalid", f"a period is a year written with four digits, not {period!r}")
    year = int(period)
    return datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)


def _cursor() -> int:
    return LedgerCursor.objects.filter(name=CURSOR).values_list("seq", flat=True).first() or 0


def _account_records(site_id: int, period: str, upto: int) -> QuerySet[EventRecord]:
    start, end = period_bounds(period)
    return (
        EventRecord.objects.filter(
            site_id=site_id,
            operation__in=ACCOUNT_OPERATIONS,
            entry_id__lte=upto,
            event_time__gte=start,
            event_time__lt=end,
        )
        .select_related("entry", "site")
        .prefetch_related("involved")
        .order_by("entry_id")
    )


def _shares_of(nodes: set[int]) -> dict[int, Shares]:
    rows = FootprintResult.objects.filter(node_id__in=nodes, method=CUT_OFF, chain=MASS_BALANCE).values_list(
        "node_id", "pre_consumer_share", "post_consumer_share", "post_consumer_by_make"
    )
    return {
        node: Shares(pre_consumer=pre, post_consumer=post, by_make=tuple(sorted((by_make or {}).items())))
        for node, pre, post, by_make in rows
    }


def _sum(a: Credit, b: Credit) -> Credit:
    makes = dict(a.by_make)
    for make, kg in b.by_make:
        makes[make] = makes.get(make, 0.0) + kg
    return Credit(a.pre_kg + b.pre_kg, a.post_kg + b.post_kg, tuple(sorted(makes.items())))


def _claim_amount(claim: Claim) -> Credit:
    pre = claim.kg if claim.category == "pre_consumer" else 0.0
    post = claim.kg - pre
    return Credit(pre, post, ((claim.vehicle_make, claim.kg),) if claim.vehicle_make else ())


def _replay(site: Site, period: str, upto: int) -> tuple[Account, Statement]:
    records = list(_account_records(site.pk, period, upto))
    _, activities = graph.build(records, FactorBook.load())
    accounted = [a for a in activities if a.substitutes or a.claim is not None]
    shares = _shares_of({node for a in accounted if a.claim is None for node, _ in a.inputs})
    names = dict(
        TraceableObject.objects.filter(pk__in={node for a in accounted for node, _ in a.outputs}).values_list(
            "pk", "identifier"
        )
    )
    by_seq = {record.entry_id: record for record in records}
    account = Account()
    entries = []
    credited = claimed = Credit()
    for activity in sorted(accounted, key=lambda a: a.seq):
        record = by_seq[activity.seq]
        lots = tuple(names[node] for node, _ in activity.outputs)
        if activity.claim is None:
            missing = [node for node, _ in activity.inputs if node not in shares]
            if missing:
                raise ApplicationError(
                    "account_not_computed",
                    "the footprints of this account's inputs are not computed yet: try again shortly",
                    status=503,
                )
            amount = credit_of(
                mix((shares[node], kg) for node, kg in activity.inputs), sum(kg for _, kg in activity.outputs)
            )
            account.add(amount)
            credited = _sum(credited, amount)
            kind, category, make = "credit", None, None
        else:
            try:
                account.draw(activity.claim)
            except CarbonError as exc:  # the ledger holds it: the walk would refuse it too
                raise ApplicationError(exc.code, f"entry {activity.seq}: {exc.message}", status=500) from exc
            amount = _claim_amount(activity.claim)
            claimed = _sum(claimed, amount)
            kind, category, make = "claim", activity.claim.category, activity.claim.vehicle_make
        entries.append(
            Entry(
                seq=activity.seq,
                event_time=record.event_time,
                kind=kind,
                operation=record.operation,
                lots=lots,
                amount=amount,
                category=category,
                vehicle_make=make,
                balance=account.balance(),
            )
        )
    statement = Statement(
        site=site,
        period=period,
        ledger_size=upto,
        entries=tuple(entries),
        credited=credited,
        claimed=claimed,
        available=account.balance(),
    )
    return account, statement


def account_statement(*, site: Site, period: str) -> Statement:
    """The account of ``site`` for ``period`` as the computed results stand (``ledger_size``).
    Who may read it is the caller's to check (``traceability.visibility.sites_visible_to``)."""
    period_bounds(period)
    return _replay(site, period, _cursor())[1]


def account_periods(*, site: Site) -> list[Statement]:
    """Every period in which ``site`` melted, refined or claimed, newest first, with its balance."""
    upto = _cursor()
    years = EventRecord.objects.filter(site=site, operation__in=ACCOUNT_OPERATIONS, entry_id__lte=upto).dates(
        "event_time", "year", order="DESC"
    )
    return [_replay(site, str(year.year), upto)[1] for year in years]


def accounts_summary() -> list[str]:
    """A line per site and year with a mass-balance account: what was credited, claimed and is left."""
    lines = []
    sites = Site.objects.filter(pk__in=EventRecord.objects.filter(operation__in=ACCOUNT_OPERATIONS).values("site_id"))
    for site in sites.select_related("organisation").order_by("organisation__slug", "name"):
        for statement in account_periods(site=site):
            lines.append(
                f"mass balance {site.organisation.slug} / {site.name} {statement.period}: credited post-consumer "
                f"{statement.credited.post_kg:,.1f} kg, pre-consumer {statement.credited.pre_kg:,.1f} kg; claimed "
                f"{statement.claimed.post_kg + statement.claimed.pre_kg:,.1f} kg; available post-consumer "
                f"{statement.available.post_kg:,.1f} kg, pre-consumer {statement.available.pre_kg:,.1f} kg "
                f"(computed to entry #{statement.ledger_size})"
            )
    return lines


def claim_within_credits(*, site_id: int, period: str, category: str, vehicle_make: str | None, kg: Decimal) -> None:
    """Refuse a claim beyond the credits its site's account holds now (``settings.RECYCLED_CONTENT_CREDITS``).

    Runs inside the claim's append, under the ledger's append lock (claims take turns). The
    footprints are first brought to the ledger's head, so credits are never read stale.
    """
    while footprints_catch_up().events:
        pass
    site = Site.objects.get(pk=site_id)
    account, _ = _replay(site, period, _cursor())
    claim = Claim(category=category, kg=float(kg), vehicle_make=vehicle_make)
    available = account.available(category, vehicle_make)
    try:
        account.draw(claim)
    except CarbonError as exc:
        raise ApplicationError(
            exc.code,
            exc.message,
            status=409,
            extra={
                "availableKg": available,
                "period": period,
                "category": category,
                **({"vehicleMake": vehicle_make} if vehicle_make else {}),
            },
        ) from exc


def _credit_json(credit: Credit) -> dict[str, object]:
    return {
        "preConsumerKg": credit.pre_kg,
        "postConsumerKg": credit.post_kg,
        "postConsumerByMakeKg": dict(credit.by_make),
    }


def _entry_json(entry: Entry) -> dict[str, object]:
    line: dict[str, object] = {
        "seq": entry.seq,
        "eventTime": entry.event_time.isoformat(),
        "kind": entry.kind,
        "operation": entry.operation,
    }
    if entry.kind == "claim":
        line.update(
            lot=entry.lots[0],
            category=entry.category,
            vehicleMake=entry.vehicle_make,
            kg=entry.amount.pre_kg + entry.amount.post_kg,
        )
    else:
        line.update(lots=list(entry.lots), **_credit_json(entry.amount))
    line["balance"] = _credit_json(entry.balance)
    return line


def statement_json(statement: Statement, *, entries: bool) -> dict[str, object]:
    """An account as the API states it (the web page shows these very figures)."""
    body: dict[str, object] = {
        "site": statement.site.pk,
        "period": statement.period,
        "ledgerSize": statement.ledger_size,
        "credited": _credit_json(statement.credited),
        "claimed": _credit_json(statement.claimed),
        "available": _credit_json(statement.available),
    }
    if entries:
        body["entries"] = [_entry_json(entry) for entry in statement.entries]
    return body


__all__ = [
    "Entry",
    "Statement",
    "account_periods",
    "account_statement",
    "accounts_summary",
    "claim_within_credits",
    "statement_json",
]
