"""Objects addressed in a path by their id or by their identifier.

Writes answer with identifiers (EPC URNs, GS1 Digital Link URIs, Looptrace URIs), so reads take
them too: ``/api/v1/objects/urn:epc:id:sgtin:4012345.000001.1001`` is the object ``/api/v1/objects/17``
is. An identifier is sent URL-encoded (``https%3A%2F%2Fid.example%2F01%2F...``); servers decode the
path before routing, so a Digital Link URI arrives with its slashes and the route must tell its
last segments from the sub-resources of the object. Anything else in the place of an object
matches no route, and unknown API paths answer the JSON 404 (``config/errors.py``).
"""

from django.db.models import Q
from drf_spectacular.utils import OpenApiParameter

# The sub-resources of an object (``objects/<ref>/genealogy``): an identifier never swallows them.
OBJECT_SUBRESOURCES = ("genealogy", "footprint", "battery-footprint")
OBJECT_SCHEMES = ("urn", "https")


class ObjectReferenceConverter:
    """``17`` (the id) or an identifier of the schemes the platform stores."""

    regex = rf"[0-9]{{1,18}}|(?:{'|'.join(OBJECT_SCHEMES)}):(?:(?!/(?:{'|'.join(OBJECT_SUBRESOURCES)})\Z).)+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


def object_reference(reference: str) -> Q:
    """The filter of ``TraceableObject`` rows a path's object reference names."""
    if reference.isdigit():
        return Q(pk=int(reference))
    return Q(identifier=reference)


OBJECT_REFERENCE_PARAMETER = OpenApiParameter(
    "ref",
    str,
    OpenApiParameter.PATH,
    description="the object's id (17) or its identifier as the writes answer it (EPC URN, GS1 Digital Link "
    "URI, Looptrace URI), URL-encoded: urn%3Aepc%3Aid%3Asgtin%3A4012345.000001.1001",
)
