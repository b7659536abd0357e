"""The web console's front end: pinned vendor libraries, built files present, nothing online.

The vendor files are built by ``scripts/build-frontend.sh`` (run by ``scripts/setup.sh``); these
tests check the result in the source tree, as the node serves it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
FRONTEND = ROOT / "web" / "frontend"
STATIC = ROOT / "src" / "sarhad" / "web" / "static"
TEMPLATES = ROOT / "src" / "sarhad" / "web" / "templates"
REGISTRY = "https://registry.npmjs.org/"

PINNED = {
    "leaflet": "1.9.4",
    "supercluster": "9.1.0",
    "@fontsource/noto-nastaliq-urdu": "5.3.0",
    "@fontsource/vazirmatn": "5.3.0",
}
#: What base.html loads under /static per the web contract (used if a template is missing).
CONTRACT = [
    "/static/vendor/leaflet/leaflet.css",
    "/static/css/app.css",
    "/static/css/fonts.css",
    "/static/vendor/leaflet/leaflet.js",
    "/static/vendor/chart.js/chart.umd.js",
    "/static/js/app.js",
    "/static/js/map.js",
    # Loaded by the map's worker (static/js/cluster-worker.js) with importScripts.
    "/static/vendor/supercluster/supercluster.min.js",
]
OUR_FILES = sorted(
    p for p in STATIC.rglob("*") if p.suffix in {".css", ".js"} and "vendor" not in p.parts
)
VENDOR_CSS = sorted(p for p in (STATIC / "vendor").rglob("*.css") if p.is_file())
ALL_JS = sorted(p for p in STATIC.rglob("*.js") if p.is_file())
BUILD_HINT = "run scripts/build-frontend.sh (scripts/setup.sh does) to build the vendor files"


def lock() -> dict:
    return json.loads((FRONTEND / "package-lock.json").read_text())


def static_path(url: str) -> Path:
    return STATIC / url.removeprefix("/static/")


def test_package_json_pins_exact_versions() -> None:
    deps = json.loads((FRONTEND / "package.json").read_text())["dependencies"]
    for name, version in deps.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{name} is not pinned: {version!r}"
    assert deps["chart.js"].startswith("4.")


def test_lock_holds_the_pinned_versions_with_integrity() -> None:
    packages = lock()["packages"]
    for name, version in PINNED.items():
        assert packages[f"node_modules/{name}"]["version"] == version
    assert packages["node_modules/chart.js"]["version"].startswith("4.")
    for key, entry in packages.items():
        if key:
            assert entry.get("integrity", "").startswith("sha512-"), key


def test_lock_downloads_only_from_the_npm_registry() -> None:
    text = (FRONTEND / "package-lock.json").read_text()
    for url in re.findall(r'"resolved":\s*"([^"]+)"', text):
        assert url.startswith(REGISTRY), url


def template_assets() -> list[str]:
    """Every /static URL base.html and the page templates load (or the contract's list)."""
    found: set[str] = set()
    for template in sorted(TEMPLATES.glob("*.html")) if TEMPLATES.is_dir() else []:
        found.update(re.findall(r'(?:src|href)="(/static/[^"?#]+)', template.read_text()))
    return sorted(found) or CONTRACT


@pytest.mark.parametrize("url", template_assets())
def test_every_asset_a_page_loads_exists(url: str) -> None:
    assert static_path(url).is_file(), f"{url} is missing: {BUILD_HINT}"


def test_contract_vendor_files_exist() -> None:
    missing = [u for u in CONTRACT if not static_path(u).is_file()]
    assert not missing, f"{missing}: {BUILD_HINT}"


@pytest.mark.parametrize("css", [STATIC / "css" / "fonts.css", *VENDOR_CSS], ids=lambda p: p.name)
def test_css_urls_point_to_files_the_node_serves(css: Path) -> None:
    for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text()):
        if url.startswith(("data:", "#")):
            continue
        assert not re.match(r"^[a-z]+:|^//", url), f"{css.name} loads {url} from outside"
        target = static_path(url) if url.startswith("/static/") else css.parent / url
        assert target.is_file(), f"{css.name}: {url} does not exist ({BUILD_HINT})"


def test_fonts_are_served_for_urdu_and_persian() -> None:
    css = (STATIC / "css" / "fonts.css").read_text()
    assert re.search(r':lang\(ur\)\s*{[^}]*"Noto Nastaliq Urdu"', css)
    assert re.search(r':lang\(fa\)\s*{[^}]*"Vazirmatn"', css)
    assert list((STATIC / "vendor" / "fonts").glob("noto-nastaliq-urdu-*.woff2")), BUILD_HINT


@pytest.mark.parametrize("path", OUR_FILES, ids=lambda p: p.name)
def test_our_css_and_js_name_no_internet_address(path: Path) -> None:
    assert not re.search(r"https?://|url\(\s*['\"]?//", path.read_text()), path


@pytest.mark.parametrize("path", ALL_JS, ids=lambda p: p.name)
def test_scripts_do_not_eval(path: Path) -> None:
    # The CSP has no 'unsafe-eval': eval would fail in the browser anyway.
    assert "eval(" not in path.read_text(), path


def test_templates_load_nothing_from_another_host() -> None:
    for template in sorted(TEMPLATES.glob("*.html")) if TEMPLATES.is_dir() else []:
        text = template.read_text()
        bad = re.findall(
            r'<(?:script|link|img|source|iframe)[^>]+(?:src|href)="(?:https?:)?//', text
        )
        assert not bad, f"{template.name}: {bad}"


def test_build_output_is_ignored_by_git_but_packaged() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "/src/sarhad/web/static/vendor/" in ignored
    assert "web/frontend/node_modules/" in ignored
    assert (
        'artifacts = ["src/sarhad/web/static/vendor/**"]' in (ROOT / "pyproject.toml").read_text()
    )
