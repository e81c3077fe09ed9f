"""Figures on pages written as the API states them: a share shown as a percentage to one decimal,
from the unrounded value (Django's ``widthratio`` rounds to whole numbers and ``add`` to integers,
so a page showed "0 %" beside a bar of 67.9 %)."""

from django import template

register = template.Library()

# Decimals of a percentage on a page: enough to tell shares apart, as the charts beside them do.
PERCENT_DECIMALS = 1


@register.filter
def percent(share: float | None) -> str:
    """``0.679`` as ``67.9 %``; no share as a dash."""
    if share is None:
        return "\N{EN DASH}"
    return f"{float(share) * 100:.{PERCENT_DECIMALS}f} %"
