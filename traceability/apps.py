from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = "Traceability"

    def ready(self) -> None:
        from django.urls import register_converter

        from traceability import auth_backends  # noqa: F401 - connects the failed sign-in counter
        from traceability.api.references import ObjectReferenceConverter

        # Before any URLconf loads: the traceability and carbon API routes address objects with it.
        register_converter(ObjectReferenceConverter, "object")
