from django.apps import AppConfig


class PassportConfig(AppConfig):
    name = "passport"
    verbose_name = "Passports"
