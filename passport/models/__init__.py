from passport.models.passports import Passport, PassportCursor, PassportVersion

__all__ = ["Passport", "PassportCursor", "PassportVersion"]
