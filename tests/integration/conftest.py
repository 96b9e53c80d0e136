"""Fixtures shared by the integration tests: the browser and page of the web UI tests
(tests/integration/browser_ui.py); each module brings its own `device`."""

from .browser_ui import browser, page  # noqa: F401 (fixtures, found by pytest here)
