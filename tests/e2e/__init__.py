"""End-to-end tests in a real JupyterLab and headless Chromium.

A package, so that its conftest is imported as ``e2e.conftest`` and never shadows
tests/conftest.py, which the unit tests import as ``conftest``.
"""
