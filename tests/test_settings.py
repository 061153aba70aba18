"""Settings: defaults, *_FILE secrets, generated development secrets, production refusing missing ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from folders import read_only

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


STRONG_TOKEN = "admin-token-0123456789abcdefghijklmnop"
STRONG_CRON = "cron-secret-0123456789abcdefghijklmnop"


def production(tmp_path: Path, **secrets: str) -> dict[str, str]:
    env = {"ERP_SYNC_ENV": "production", "ERP_SYNC_INSTANCE_DIR": str(tmp_path),
           "ERP_SYNC_DATABASE_URL": "postgresql://erp:pw@db/erp", "ERP_SYNC_API_TOKEN": STRONG_TOKEN,
           "CRON_SECRET": STRONG_CRON, "ERP_SYNC_SECRET_KEYS": Fernet.generate_key().decode()}
    env.update(secrets)
    return env


@pytest.mark.parametrize("name", ["ERP_SYNC_API_TOKEN", "CRON_SECRET"])
def test_production_refuses_a_secret_shorter_than_32_characters_naming_the_variable_not_the_value(
        tmp_path: Path, name: str) -> None:
    weak = "a" * 31
    with pytest.raises(ConfigurationError) as caught:
        load_settings(production(tmp_path, **{name: weak}))
    assert caught.value.field == name
    assert name in caught.value.message and "32" in caught.value.message
    assert weak not in caught.value.message
    assert load_settings(production(tmp_path, **{name: "b" * 32})).is_production


def test_production_refuses_a_cron_secret_equal_to_the_admin_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(production(tmp_path, CRON_SECRET=STRONG_TOKEN))
    assert caught.value.field == "CRON_SECRET"
    assert "ERP_SYNC_API_TOKEN" in caught.value.message and STRONG_TOKEN not in caught.value.message


def test_the_generated_development_secrets_would_pass_the_production_rules(tmp_path: Path) -> None:
    settings = load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path / "inst")})
    assert len(settings.api_token) >= 32 and len(settings.cron_secret) >= 32
    assert settings.api_token != settings.cron_secret


@pytest.mark.parametrize(("variable", "url", "says"), [
    ("DATABASE_URL", "nonsense", "is not a database URL"),
    ("DATABASE_URL", "mysql://erp:db-s3cret@db/erp", "mysql"),
    ("ERP_SYNC_DATABASE_URL", "postgresql+asyncpg://erp:db-s3cret@db/erp", "asyncpg"),
    ("ERP_SYNC_DATABASE_URL", "sqlite+aiosqlite:///x.sqlite3", "aiosqlite"),
])
def test_a_database_url_erp_sync_cannot_use_is_refused_naming_the_variable_without_the_password(
        tmp_path: Path, variable: str, url: str, says: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path), variable: url})
    assert caught.value.field == variable
    assert says in caught.value.message and "postgresql://" in caught.value.message
    assert "db-s3cret" not in caught.value.message


@pytest.mark.parametrize("url", ["postgres://erp:pw@db/erp", "postgresql+psycopg://erp:pw@db:5432/erp",
                                 "sqlite:////var/lib/erp-sync/erp.sqlite3", "sqlite+pysqlite:///erp.sqlite3"])
def test_the_database_urls_erp_sync_can_use_are_accepted(tmp_path: Path, url: str) -> None:
    assert load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path), "ERP_SYNC_DATABASE_URL": url}).database_url


@pytest.mark.parametrize(("name", "value"), [("ERP_SYNC_LOG_LEVEL", "LOUD"), ("ERP_SYNC_SECRET_KEYS", ","),
                                             ("ERP_SYNC_SECRET_KEYS", " , ")])
def test_a_log_level_or_key_list_that_cannot_be_used_is_refused_with_the_variable_named(
        tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path), name: value})
    assert caught.value.field == name


def test_log_levels_are_read_whatever_their_case(tmp_path: Path) -> None:
    assert load_settings({"ERP_SYNC_INSTANCE_DIR": str(tmp_path), "ERP_SYNC_LOG_LEVEL": "debug"}).log_level == "DEBUG"


def test_an_instance_folder_that_is_a_file_or_under_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    for folder in (a_file, a_file / "instance"):
        with pytest.raises(ConfigurationError) as caught:
            load_settings({"ERP_SYNC_INSTANCE_DIR": str(folder)})
        assert caught.value.field == "ERP_SYNC_INSTANCE_DIR"
        assert str(folder) in caught.value.message


def test_a_read_only_instance_folder_is_refused_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "instance"
    folder.mkdir()
    with read_only(folder), pytest.raises(ConfigurationError) as caught:
        load_settings({"ERP_SYNC_INSTANCE_DIR": str(folder)})
    assert caught.value.field == "ERP_SYNC_INSTANCE_DIR"
    assert str(folder) in caught.value.message and "write" in caught.value.message


def test_the_instance_folder_is_not_needed_when_the_database_and_every_secret_are_given(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    settings = load_settings(production(a_file / "instance"))
    assert settings.is_production and not a_file.is_dir()
