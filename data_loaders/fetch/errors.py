"""The one error a fetch raises: what went wrong, in Norwegian, naming the request."""

from __future__ import annotations


class FetchError(RuntimeError):
    """A request failed or its answer cannot be used; nothing was written."""
