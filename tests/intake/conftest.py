"""The console's fixtures (a live node with passwords, Chromium) for the news review pages."""

from web.conftest import browser, chromium, new_page, web  # noqa: F401  (fixtures)
