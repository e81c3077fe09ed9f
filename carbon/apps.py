from django.apps import AppConfig


class CarbonConfig(AppConfig):
    name = "carbon"
    verbose_name = "Carbon footprints"

    def ready(self) -> None:
        from carbon import tasks

        tasks.follow_the_ledger()
