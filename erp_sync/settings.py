"""Settings: the only module that reads the environment.

Names follow the README's configuration table. Every secret may instead be given as a file (`NAME_FILE`, for
Docker and Kubernetes secrets), which wins over `NAME`. In development a missing API token, cron secret or
encryption key is generated once into the instance folder (mode 0600) and its location reported; in production
a missing one stops start-up with a message that names the variable.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class ConfigurationError(Exception):
    """A setting is missing or malformed; `field` names the environment variable."""

    code = "CONFIGURATION_ERROR"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

DEFAULT_SYNC_TIMEOUT_MS = 30 * 60 * 1000


@dataclass(frozen=True)
class AlertThresholds:
    """When the monitoring API raises an alert (README: ERP_SYNC_ALERT_*)."""

    failure_rate: float = 0.5
    min_runs: int = 5
    consecutive: int = 3
    long_ms: int = 300_000
    overdue_periods: int = 2


@dataclass(frozen=True)
class OperationsSettings:
    """Monitoring, retention, metrics, notifications, cron access and log format."""

    alerts: AlertThresholds = field(default_factory=AlertThresholds)
    retention_days: int = 30  # 0 keeps every run
    metrics_token: str | None = None
    cron_secret_previous: str | None = None
    cron_allowed_ips: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    webhook_url: str | None = None
    log_format: str = "text"


@dataclass(frozen=True)
class Settings:
    database_url: str
    instance_dir: Path
    api_token: str
    cron_secret: str
    secret_keys: tuple[str, ...]
    env: str = "development"
    scheduler_enabled: bool = True
    sandbox_enabled: bool = True
    sync_timeout_ms: int = DEFAULT_SYNC_TIMEOUT_MS
    app_url: str | None = None
    max_body_bytes: int = 1_048_576
    scheduler_poll_seconds: float = 30.0
    log_level: str = "INFO"
    # Signs the console's session cookies; None only in production when not given (the console then refuses).
    session_key: str | None = None
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    operations: OperationsSettings = field(default_factory=OperationsSettings)
    generated: tuple[str, ...] = field(default=(), compare=False)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigurationError(f"{name} must be on or off (got {raw!r})", field=name)


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number (got {raw!r})", field=name) from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum} (got {value})", field=name)
    return value


def _secret(env: Mapping[str, str], name: str) -> str | None:
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip() or None
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE points to {file_name!r}, which cannot be read: {exc}",
                                     field=f"{name}_FILE") from None
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _instance_folder(instance_dir: Path) -> Path:
    """The instance folder, made if missing; CONFIGURATION_ERROR when erp-sync cannot keep files in it."""
    try:
        instance_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=instance_dir, prefix=".erp-sync-write-check-"):
            pass
    except OSError as exc:
        if instance_dir.exists() and not instance_dir.is_dir():
            reason = "is a file, not a folder"
        elif isinstance(exc, NotADirectoryError):
            reason = "is inside a file, not a folder"
        else:
            reason = f"cannot be written by this user ({exc.strerror or exc})"
        raise ConfigurationError(
            f"ERP_SYNC_INSTANCE_DIR {instance_dir} {reason}: erp-sync keeps its SQLite file and generated development "
            "secrets there. Point ERP_SYNC_INSTANCE_DIR at a folder this user can write (default ./instance), or "
            "give ERP_SYNC_DATABASE_URL and every secret so that none is needed.",
            field="ERP_SYNC_INSTANCE_DIR") from None
    return instance_dir


def _generated(instance_dir: Path, file_name: str, make: Callable[[], str]) -> tuple[str, bool]:
    """The development secret kept in the instance folder, made on first use; (value, made now)."""
    path = instance_dir / file_name
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    value = make()
    fd = os.open(_instance_folder(instance_dir) / file_name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, True


_GENERATED_SECRETS = {
    "ERP_SYNC_API_TOKEN": ("api-token", lambda: secrets.token_urlsafe(32)),
    "CRON_SECRET": ("cron-secret", lambda: secrets.token_urlsafe(32)),
    "ERP_SYNC_SECRET_KEYS": ("secret-keys", lambda: Fernet.generate_key().decode("ascii")),
}
MIN_PRODUCTION_SECRET_LENGTH = 32  # what `secrets.token_urlsafe(24)` or `openssl rand -hex 16` give
_MAKE_A_SECRET = "make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"  # noqa: S105
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_DATABASES = {"sqlite": ("pysqlite",), "postgresql": ("psycopg",)}  # backend: the drivers erp-sync ships


def _database_url(env: Mapping[str, str], instance_dir: Path) -> tuple[str, str | None]:
    """(the SQLAlchemy URL, the variable that gave it, or None for the default SQLite file)."""
    variable = next((name for name in ("ERP_SYNC_DATABASE_URL", "DATABASE_URL") if (env.get(name) or "").strip()),
                    None)
    if variable is None:
        return f"sqlite:///{instance_dir / 'erp-sync.sqlite3'}", None
    url = env[variable].strip()
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    _check_database_url(url, variable)
    return url, variable


def _check_database_url(url: str, variable: str) -> None:
    """Refuse a URL erp-sync cannot connect with, before a driver import fails; never echo the URL (a password)."""
    examples = ("use postgresql://user:password@host:5432/dbname (psycopg 3) or "
                "sqlite:////absolute/path/erp-sync.sqlite3")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"{variable} is not a database URL; {examples}", field=variable) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend not in _DATABASES:
        raise ConfigurationError(f"{variable} names a {backend} database ({parsed.drivername}://...); erp-sync runs "
                                 f"on PostgreSQL or SQLite: {examples}", field=variable)
    if driver not in _DATABASES[backend]:
        raise ConfigurationError(f"{variable} asks for the {driver} driver ({parsed.drivername}://...), which "
                                 f"erp-sync does not use: {examples}", field=variable)


def _log_level(env: Mapping[str, str]) -> str:
    level = (env.get("ERP_SYNC_LOG_LEVEL") or "INFO").strip().upper()
    if level not in _LOG_LEVELS:
        raise ConfigurationError(f"ERP_SYNC_LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)} (got {level!r})",
                                 field="ERP_SYNC_LOG_LEVEL")
    return level


def _resolved_secrets(env: Mapping[str, str], instance_dir: Path, mode: str) -> tuple[dict[str, str], list[str]]:
    """Each secret from the environment, or in development generated into the instance folder; (values, made)."""
    resolved: dict[str, str] = {}
    generated: list[str] = []
    for name, (file_name, make) in _GENERATED_SECRETS.items():
        value = _secret(env, name)
        if value is None:
            if mode == "production":
                raise ConfigurationError(
                    f"{name} is not set. In production every secret must be given, as {name} or as a file "
                    f"named by {name}_FILE.", field=name)
            value, made = _generated(instance_dir, file_name, make)
            if made:
                generated.append(str(instance_dir / file_name))
        resolved[name] = value
    return resolved, generated


def _check_access_secrets(api_token: str, cron_secret: str, mode: str) -> None:
    """Production secrets long enough not to be guessed; a cron secret that never opens admin routes."""
    if mode == "production":
        for name, value in (("ERP_SYNC_API_TOKEN", api_token), ("CRON_SECRET", cron_secret)):
            if len(value) < MIN_PRODUCTION_SECRET_LENGTH:
                raise ConfigurationError(
                    f"{name} is shorter than {MIN_PRODUCTION_SECRET_LENGTH} characters, too weak for production; "
                    f"{_MAKE_A_SECRET}", field=name)
    if hmac.compare_digest(api_token.encode("utf-8"), cron_secret.encode("utf-8")):
        raise ConfigurationError(
            "CRON_SECRET is the same as ERP_SYNC_API_TOKEN: the cron secret would open the admin routes and the "
            f"admin token the cron routes. Give each its own value; {_MAKE_A_SECRET}", field="CRON_SECRET")


def _fernet_keys(raw: str) -> tuple[str, ...]:
    keys = tuple(k.strip() for k in raw.split(",") if k.strip())
    if not keys:
        raise ConfigurationError(
            "ERP_SYNC_SECRET_KEYS holds no key, only commas or blanks. Give one or more Fernet keys, comma-separated, "
            f"newest first; {_MAKE_A_KEY}", field="ERP_SYNC_SECRET_KEYS")
    for key in keys:
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                "ERP_SYNC_SECRET_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes); "
                f"{_MAKE_A_KEY}", field="ERP_SYNC_SECRET_KEYS") from None
    return keys


_MAKE_A_KEY = ("make one with: python3 -c 'from cryptography.fernet import Fernet; "
               "print(Fernet.generate_key().decode())'")


def _session_key(env: Mapping[str, str], instance_dir: Path, mode: str, generated: list[str]) -> str | None:
    """Only `erp-sync serve` needs it (the console), so production leaves it None rather than stopping the CLI;
    the console refuses to start without it."""
    value = _secret(env, "ERP_SYNC_SESSION_KEY")
    if value is None and mode != "production":
        value, made = _generated(instance_dir, "session-key", lambda: secrets.token_urlsafe(32))
        if made:
            generated.append(str(instance_dir / "session-key"))
    return value


def _networks(env: Mapping[str, str], name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """A comma list of IP addresses or networks (10.0.0.5, 172.16.0.0/12, ::1)."""
    networks = []
    for part in (env.get(name) or "").split(","):
        if not part.strip():
            continue
        try:
            networks.append(ipaddress.ip_network(part.strip(), strict=False))
        except ValueError:
            raise ConfigurationError(f"{name} must be a comma list of IP addresses or networks such as "
                                     f"10.0.0.5,172.16.0.0/12 (got {part.strip()!r})", field=name) from None
    return tuple(networks)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from `env` (default: the process environment)."""
    env = os.environ if env is None else env
    instance_dir = Path(env.get("ERP_SYNC_INSTANCE_DIR") or "instance").resolve()
    mode = (env.get("ERP_SYNC_ENV") or "development").strip().lower()
    if mode not in {"development", "production"}:
        raise ConfigurationError(f"ERP_SYNC_ENV must be development or production (got {mode!r})",
                                 field="ERP_SYNC_ENV")
    database_url, database_variable = _database_url(env, instance_dir)
    log_level = _log_level(env)
    resolved, generated = _resolved_secrets(env, instance_dir, mode)
    keys = _fernet_keys(resolved["ERP_SYNC_SECRET_KEYS"])
    _check_access_secrets(resolved["ERP_SYNC_API_TOKEN"], resolved["CRON_SECRET"], mode)
    if database_variable is None:
        _instance_folder(instance_dir)  # the default SQLite file lives there

    return Settings(
        database_url=database_url,
        instance_dir=instance_dir,
        api_token=resolved["ERP_SYNC_API_TOKEN"],
        cron_secret=resolved["CRON_SECRET"],
        secret_keys=keys,
        env=mode,
        scheduler_enabled=_flag(env, "ERP_SYNC_SCHEDULER", True),
        sandbox_enabled=_flag(env, "ERP_SYNC_SANDBOX", database_url.startswith("sqlite") and mode != "production"),
        sync_timeout_ms=_int(env, "SYNC_TIMEOUT_MS", DEFAULT_SYNC_TIMEOUT_MS, minimum=1000),
        app_url=(env.get("APP_URL") or None),
        max_body_bytes=_int(env, "ERP_SYNC_MAX_BODY_BYTES", 1_048_576),
        scheduler_poll_seconds=float(_int(env, "ERP_SYNC_SCHEDULER_POLL_SECONDS", 30)),
        log_level=log_level,
        session_key=_session_key(env, instance_dir, mode, generated),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
        operations=_operations(env),
        generated=tuple(generated),
    )


def _float(env: Mapping[str, str], name: str, default: float, minimum: float, maximum: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number (got {raw!r})", field=name) from None
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"{name} must be between {minimum} and {maximum} (got {value})", field=name)
    return value


def _operations(env: Mapping[str, str]) -> OperationsSettings:
    log_format = (env.get("ERP_SYNC_LOG_FORMAT") or "text").strip().lower()
    if log_format not in {"text", "json"}:
        raise ConfigurationError(f"ERP_SYNC_LOG_FORMAT must be text or json (got {log_format!r})",
                                 field="ERP_SYNC_LOG_FORMAT")
    alerts = AlertThresholds(
        failure_rate=_float(env, "ERP_SYNC_ALERT_FAILURE_RATE", 0.5, 0.0, 1.0),
        min_runs=_int(env, "ERP_SYNC_ALERT_MIN_RUNS", 5),
        consecutive=_int(env, "ERP_SYNC_ALERT_CONSECUTIVE", 3),
        long_ms=_int(env, "ERP_SYNC_ALERT_LONG_MS", 300_000),
        overdue_periods=_int(env, "ERP_SYNC_ALERT_OVERDUE_PERIODS", 2))
    return OperationsSettings(
        alerts=alerts, retention_days=_int(env, "ERP_SYNC_RETENTION_DAYS", 30, minimum=0),
        metrics_token=_secret(env, "ERP_SYNC_METRICS_TOKEN"),
        cron_secret_previous=_secret(env, "CRON_SECRET_PREVIOUS"),
        cron_allowed_ips=_networks(env, "CRON_ALLOWED_IPS"),
        webhook_url=_secret(env, "ERP_SYNC_WEBHOOK_URL"), log_format=log_format)
