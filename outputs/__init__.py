"""Documents built from the indicators and the SSU's own work: the yearly status report (``outputs.report``).

This layer sits on top: it may import ``indicators`` and ``data_loaders``; nothing below imports it.
"""
