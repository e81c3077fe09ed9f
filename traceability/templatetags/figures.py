"""Template filters writing a figure as the API states it, by the rules of ``traceability.figures``
(Django's ``widthratio`` rounds to whole numbers and ``add`` to integers, so a page showed "0 %"
beside a bar of 67.9 %)."""

from django import template

from traceability import figures

register = template.Library()

register.filter("percent", figures.percent)
register.filter("intensity", figures.intensity)
register.filter("kg_co2e", figures.kg_co2e)
register.filter("kg", figures.kg)
