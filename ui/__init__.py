"""Streamlit glue for the hiermod dashboard: session state, caches, shared render helpers.

Only this package and ``pages/`` import streamlit; the math lives in :mod:`hiermod`.
"""
