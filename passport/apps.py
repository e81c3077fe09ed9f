from django.apps import AppConfig


class PassportConfig(AppConfig):
    name = "passport"
    verbose_name = "Passports"

    def ready(self) -> None:
        from passport import tasks

        # Registered after carbon's (INSTALLED_APPS order): eager runs compute footprints first.
        tasks.follow_the_ledger()
