from __future__ import annotations

from pathlib import Path

import pytest

from veil.config import Settings


def test_defaults_are_safe(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("OPENAI_API_KEY", "VEIL_UPSTREAM_BASE_URL", "VEIL_HOST", "VEIL_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.host == "127.0.0.1"
    assert settings.upstream_base_url == "https://api.openai.com/v1"
    assert settings.upstream_api_key is None
    assert settings.max_body_bytes == 10 * 1024 * 1024
    assert settings.scan_responses is True


def test_toml_then_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "veil.toml").write_text(
        'upstream_base_url = "http://from-toml/v1"\nport = 9001\nvault = "memory"\n'
    )
    monkeypatch.setenv("VEIL_PORT", "9002")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    settings = Settings()
    assert settings.upstream_base_url == "http://from-toml/v1"
    assert settings.port == 9002
    assert settings.vault == "memory"
    assert settings.upstream_api_key is not None
    assert settings.upstream_api_key.get_secret_value() == "sk-from-env"
    assert "sk-from-env" not in repr(settings)


def test_config_file_named_by_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    config.write_text("scan_responses = false\n")
    monkeypatch.setenv("VEIL_CONFIG", str(config))
    assert Settings().scan_responses is False


def test_unknown_setting_is_an_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "veil.toml").write_text("uptream_base_url = 'typo'\n")
    with pytest.raises(ValueError, match="uptream_base_url"):
        Settings()


def test_allow_list_and_ner_model_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VEIL_ALLOW_LIST", '["Acme Corp", "Veil"]')
    monkeypatch.setenv("VEIL_NER_MODEL", "")
    settings = Settings()
    assert settings.allow_list == ("Acme Corp", "Veil")
    assert settings.ner_model == ""
