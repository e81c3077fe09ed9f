"""The mass-balance account of a site for one accounting period (ISO 22095 mass balance,
a calendar year per site as in the ASI chain-of-custody standard).

Credits enter with the recycled inputs of every substituting activity of the site in the
period (a melt, a refining), net of losses: the recycled share of the mix times the kg that
came out (``credit_of``), so lost metal never becomes claimable. A claim draws them down;
a claim beyond what is left is refused (``CarbonError("credits_insufficient")``), so the
account never goes negative. The walk (``carbon.engine.walk``) keeps one ``Account`` per
(site, period) as it replays the ledger; the recording service replays one the same way
before it accepts a claim. Standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from carbon.engine.model import POST_CONSUMER, PRE_CONSUMER, CarbonError, Claim, Shares

CATEGORIES = (PRE_CONSUMER, POST_CONSUMER)
# Floating-point slack when drawing: a milligram. Credits are sums of products of shares and
# kilograms, and the recording service and the walk may add them in different orders.
SLACK_KG = 1e-6


@dataclass(frozen=True, slots=True)
class Credit:
    """Output-equivalent kg of recycled content an activity brings into its account."""

    pre_kg: float = 0.0
    post_kg: float = 0.0
    by_make: tuple[tuple[str, float], ...] = ()


def mix(inputs: Iterable[tuple[Shares, float]]) -> Shares:
    """The shares of a melt of ``inputs`` (each input's shares and the kg of it used), by mass."""
    total = pre = post = 0.0
    makes: dict[str, float] = {}
    for shares, kg in inputs:
        total += kg
        pre += kg * shares.pre_consumer
        post += kg * shares.post_consumer
        for make, fraction in shares.by_make:
            makes[make] = makes.get(make, 0.0) + kg * fraction
    if total <= 0:
        return Shares()
    return Shares(
        pre_consumer=pre / total,
        post_consumer=post / total,
        by_make=tuple((make, makes[make] / total) for make in sorted(makes)),
    )


def credit_of(mixed: Shares, out_kg: float) -> Credit:
    """What an activity whose inputs mix to ``mixed`` credits, for ``out_kg`` of output."""
    return Credit(
        pre_kg=mixed.pre_consumer * out_kg,
        post_kg=mixed.post_consumer * out_kg,
        by_make=tuple((make, fraction * out_kg) for make, fraction in mixed.by_make),
    )


def claim_checked(claim: Claim) -> Claim:
    if claim.category not in CATEGORIES:
        raise CarbonError("claim_category_unknown", f"a claim's category is one of {CATEGORIES}")
    if claim.vehicle_make and claim.category != POST_CONSUMER:
        raise CarbonError("claim_make_not_post_consumer", "only a post-consumer claim names a vehicle make")
    if not claim.kg > 0:
        raise CarbonError("claim_not_positive", "a claim is of a positive number of kg")
    return claim


@dataclass
class Account:
    """The balance of one (site, period): kg of pre- and post-consumer credits left, and of the
    post-consumer ones, kg by vehicle make (closed-loop credits; never more than ``post_kg``)."""

    pre_kg: float = 0.0
    post_kg: float = 0.0
    by_make: dict[str, float] = field(default_factory=dict)

    def add(self, credit: Credit) -> None:
        self.pre_kg += credit.pre_kg
        self.post_kg += credit.post_kg
        for make, kg in credit.by_make:
            self.by_make[make] = self.by_make.get(make, 0.0) + kg

    def available(self, category: str, vehicle_make: str | None = None) -> float:
        """kg a claim of ``category`` (and ``vehicle_make``) may take now."""
        if category == PRE_CONSUMER:
            return max(self.pre_kg, 0.0)
        if vehicle_make:
            return max(min(self.by_make.get(vehicle_make, 0.0), self.post_kg), 0.0)
        return max(self.post_kg, 0.0)

    def draw(self, claim: Claim) -> None:
        """Take ``claim`` from the account, or raise ``credits_insufficient`` and change nothing.

        A post-consumer claim naming a make takes that make's credits; one naming none takes
        post-consumer credits of no make first, then of every make in proportion, so the
        credits by make never exceed the post-consumer credits left.
        """
        claim_checked(claim)
        available = self.available(claim.category, claim.vehicle_make)
        if claim.kg > available + SLACK_KG:
            what = claim.category.replace("_", "-") + (f" ({claim.vehicle_make})" if claim.vehicle_make else "")
            raise CarbonError(
                "credits_insufficient",
                f"{claim.kg:g} kg claimed as {what} recycled content but the account holds {available:g} kg",
            )
        kg = min(claim.kg, available)
        if claim.category == PRE_CONSUMER:
            self.pre_kg -= kg
            return
        if claim.vehicle_make:
            self.by_make[claim.vehicle_make] -= kg
        else:
            of_makes = sum(self.by_make.values())
            from_makes = max(kg - (self.post_kg - of_makes), 0.0)
            if from_makes > 0 and of_makes > 0:
                for make in self.by_make:
                    self.by_make[make] -= from_makes * self.by_make[make] / of_makes
        self.post_kg -= kg

    def balance(self) -> Credit:
        return Credit(
            pre_kg=self.pre_kg,
            post_kg=self.post_kg,
            by_make=tuple((make, kg) for make, kg in sorted(self.by_make.items()) if kg > SLACK_KG),
        )


def claimed_shares(claim: Claim, lot_kg: float, before: Claim | None, *, seen_all: bool) -> Shares:
    """A lot's mass-balance shares after ``claim``: its claims so far (``claim.lot_*``) over its mass.

    ``before`` is the lot's previous claim in this walk, if any; ``seen_all`` says the walk saw
    every claim on the lot (it made the lot), so with no ``before`` the lot had none. Where the
    walk can tell, the claim's totals must be the earlier totals plus this claim
    (``claim_totals_inconsistent``); a lot is never claimed beyond its mass (``claim_exceeds_lot``).
    """
    claim_checked(claim)
    if before is None and seen_all:
        before = Claim(category=claim.category, kg=0.0)
    if before is not None:
        pre, post, makes = before.lot_pre_kg, before.lot_post_kg, dict(before.lot_by_make)
        if claim.category == PRE_CONSUMER:
            pre += claim.kg
        else:
            post += claim.kg
            if claim.vehicle_make:
                makes[claim.vehicle_make] = makes.get(claim.vehicle_make, 0.0) + claim.kg
        totals = dict(claim.lot_by_make)
        agree = abs(claim.lot_pre_kg - pre) <= SLACK_KG and abs(claim.lot_post_kg - post) <= SLACK_KG
        agree = agree and set(totals) == set(makes) and all(abs(totals[m] - makes[m]) <= SLACK_KG for m in makes)
        if not agree:
            raise CarbonError("claim_totals_inconsistent", "the lot's claimed totals are not its claims added up")
    if lot_kg <= 0 or claim.lot_pre_kg + claim.lot_post_kg > lot_kg + SLACK_KG:
        raise CarbonError(
            "claim_exceeds_lot",
            f"claims on the lot would exceed its mass: {claim.lot_pre_kg + claim.lot_post_kg:g} of {lot_kg:g} kg",
        )
    if sum(kg for _, kg in claim.lot_by_make) > claim.lot_post_kg + SLACK_KG:
        raise CarbonError("claim_totals_inconsistent", "closed-loop claims exceed the post-consumer claims")
    return Shares(
        pre_consumer=claim.lot_pre_kg / lot_kg,
        post_consumer=claim.lot_post_kg / lot_kg,
        by_make=tuple((make, kg / lot_kg) for make, kg in sorted(claim.lot_by_make)),
    )


__all__ = [
    "CATEGORIES",
    "SLACK_KG",
    "Account",
    "Credit",
    "claim_checked",
    "claimed_shares",
    "credit_of",
    "mix",
]
