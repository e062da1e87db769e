"""Live connectors to SSB: population from the statistikkbank (PxWebApi v2) and the kommune
classifications from KLASS.

``python -m data_loaders fetch ssb-population --years 2020-2025`` and ``python -m data_loaders
fetch ssb-classifications`` call :func:`fetch_population` and :func:`fetch_classifications`.
Both fetch everything first, check it, and only then write in one transaction: a failed request
or a bad answer leaves the store unchanged. Errors are :class:`FetchError` with a Norwegian
message naming the request.
"""

from data_loaders.fetch.errors import FetchError
from data_loaders.fetch.klass import fetch_classifications
from data_loaders.fetch.ssb_population import fetch_population

__all__ = ["FetchError", "fetch_classifications", "fetch_population"]
