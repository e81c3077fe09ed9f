from django.apps import AppConfig


class TraceabilityConfig(AppConfig):
    name = "traceability"
    verbose_name = "Traceability"

    def ready(self) -> None:
        from traceability import auth_backends  # noqa: F401 - connects the failed sign-in counter
