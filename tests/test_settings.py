"""Settings: defaults, *_FILE secrets, generated development secrets, production refusing missing ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from erp_sync.settings import ConfigurationError, load_settings


def test_the_embedded_default_is_a_sqlite_file_in_the_instance_folder_with_generated_secrets(tmp_path: Path) -> None:
    settings = load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path / "inst")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'inst' / 'erp-sync.sqlite3'}"
    assert settings.sandbox_enabled and settings.scheduler_enabled and not settings.is_production
    assert settings.sync_timeout_ms == 1_800_000
    assert len(settings.generated) == 4  # api token, cron secret, encryption key, session key
    token_file = tmp_path / "inst" / "api-token"
    assert token_file.read_text().strip() == settings.api_token
    assert oct(token_file.stat().st_mode & 0o777) == "0o600"
    again = load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path / "inst")})
    assert (again.api_token, again.cron_secret, again.secret_keys) == (
        settings.api_token, settings.cron_secret, settings.secret_keys)
    assert again.generated == ()


def test_production_refuses_to_start_without_a_secret_and_names_it(tmp_path: Path) -> None:
    env = {"ERP_SYNC_ENV": "production", "ERP_SYNC_INSTANCE_DIR": str(tmp_path), "ERP_SYNC_API_TOKEN": "t",
           "ERP_SYNC_SECRET_KEYS": Fernet.generate_key().decode()}
    with pytest.raises(ConfigurationError) as caught:
        load_settings(env)
    assert caught.value.field == "CRON_SECRET"
    assert "CRON_SECRET_FILE" in caught.value.message
    assert not (tmp_path / "cron-secret").exists()


def test_file_variants_win_and_database_url_aliases_are_read(tmp_path: Path) -> None:
    secret_file = tmp_path / "cron"
    secret_file.write_text("from-file\n")
    settings = load_settings({
        "ERP_SYNC_INSTANCE_DIR": str(tmp_path), "CRON_SECRET": "from-env", "CRON_SECRET_FILE": str(secret_file),
        "DATABASE_URL": "postgres://u:p@db:5432/app", "SYNC_TIMEOUT_MS": "60000", "ERP_SYNC_SCHEDULER": "off",
    })
    assert settings.cron_secret == "from-file"
    assert settings.database_url == "postgresql+psycopg://u:p@db:5432/app"
    assert settings.sync_timeout_ms == 60000 and not settings.scheduler_enabled
    assert not settings.sandbox_enabled  # the sandbox is only the embedded default's


@pytest.mark.parametrize(("name", "value"), [
    ("ERP_SYNC_SECRET_KEYS", "not-a-key"), ("SYNC_TIMEOUT_MS", "soon"), ("ERP_SYNC_SCHEDULER", "maybe"),
    ("ERP_SYNC_ENV", "staging"), ("CRON_SECRET_FILE", "/nonexistent/secret"),
])
def test_malformed_settings_are_refused_with_the_variable_named(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path), name: value})
    assert caught.value.field == name
