"""Settings come from SARHAD_* variables or a TOML file, read when asked, never at import."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from sarhad.core.config import load_settings
from sarhad.core.errors import ConfigError


def test_environment_beats_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "node.toml"
    cfg.write_text('node_name = "from-file"\nnode_side = "IR"\nport = 9000\n')
    monkeypatch.setenv("SARHAD_NODE_NAME", "from-env")
    s = load_settings(cfg)
    assert (s.node_name, s.node_side, s.port) == ("from-env", "IR", 9000)


def test_default_database_is_sqlite_in_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SARHAD_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SARHAD_DATABASE_URL", raising=False)
    assert load_settings().effective_database_url == f"sqlite:///{tmp_path / 'sarhad.db'}"


def test_config_file_named_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "n.toml"
    cfg.write_text('database_url = "postgresql://u@h/db"\n')
    monkeypatch.setenv("SARHAD_CONFIG", str(cfg))
    assert load_settings().effective_database_url == "postgresql://u@h/db"


@pytest.mark.parametrize(
    ("env", "value", "needle"),
    [
        ("SARHAD_NODE_SIDE", "pakistan", "node_side"),
        ("SARHAD_PORT", "eighty", "port"),
        ("SARHAD_DATABASE_URL", "mysql://x", "database_url"),
    ],
)
def test_bad_settings_name_the_field(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, needle: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError, match=needle):
        load_settings()


def test_bad_config_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("node_name = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('colour = "blue"\n')
    with pytest.raises(ConfigError, match="colour"):
        load_settings(unknown)


def test_importing_the_app_reads_no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARHAD_PORT", "not-a-port")
    import sarhad.app
    import sarhad.cli

    importlib.reload(sarhad.app)
    importlib.reload(sarhad.cli)
    with pytest.raises(ConfigError):
        load_settings()


def test_trusted_proxies_from_a_list_in_the_environment_or_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SARHAD_TRUSTED_PROXIES", raising=False)
    assert load_settings().trusted_proxies == []  # nobody's forwarded header is believed
    monkeypatch.setenv("SARHAD_TRUSTED_PROXIES", "10.0.0.5, 192.168.1.0/24,::1")
    assert load_settings().trusted_proxies == ["10.0.0.5/32", "192.168.1.0/24", "::1/128"]
    monkeypatch.setenv("SARHAD_TRUSTED_PROXIES", "10.0.0.5,proxy.local")
    with pytest.raises(ConfigError, match=r"trusted_proxies: .*'proxy\.local' is not an IP"):
        load_settings()
    monkeypatch.delenv("SARHAD_TRUSTED_PROXIES")
    cfg = tmp_path / "node.toml"
    cfg.write_text('trusted_proxies = ["127.0.0.1"]\n')
    assert load_settings(cfg).trusted_proxies == ["127.0.0.1/32"]
