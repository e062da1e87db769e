"""Shared Streamlit UI for the dashboard: state in the URL, cached engine access, charts, maps,
tables, downloads and accessibility helpers.

Nothing here computes statistics: every number comes from the public ``indicators`` API; this
package only formats, colours and lays it out.
"""
