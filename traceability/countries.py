"""Country codes a site's location is written in: ISO 3166-1 alpha-2.

The officially assigned codes, as the ``pycountry`` package carries them from the ISO 3166
Maintenance Agency's list (249 of them). User-assigned codes (``XK`` and the ``X*`` range),
exceptionally reserved ones (``EU``, ``UK``) and withdrawn ones are not countries and are refused.
"""

import pycountry

ISO_3166_ALPHA_2 = frozenset(country.alpha_2 for country in pycountry.countries)
