"""Template filters writing a figure as the API states it, by the rules of ``traceability.figures``
(Django's ``widthratio`` rounds to whole numbers and ``add`` to integers, so a page showed "0 %"
beside a bar of 67.9 %).

As Django's own filters do, a value that is no number (a page rendered without its figures, an
error page reusing the template) writes nothing rather than failing the page."""

from collections.abc import Callable
from decimal import Decimal

from django import template

from traceability import figures

register = template.Library()


def _lenient(rule: Callable[[float], str]) -> Callable[[object], str]:
    def write(value: object) -> str:
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return ""
        return rule(value)

    return write


@register.filter
def percent(share: object) -> str:
    """A share as ``66.7 %``; no share (None) as a dash, as the API's null."""
    return figures.percent(None) if share is None else _lenient(figures.percent)(share)


register.filter("intensity", _lenient(figures.intensity))
register.filter("kg_co2e", _lenient(figures.kg_co2e))
register.filter("kg", _lenient(figures.kg))
