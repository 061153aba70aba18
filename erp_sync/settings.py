"""Settings: the only module that reads the environment.

Names follow the README's configuration table. Every secret may instead be given as a file (`NAME_FILE`, for
Docker and Kubernetes secrets), which wins over `NAME`. In development a missing API token, cron secret or
encryption key is generated once into the instance folder (mode 0600) and its location reported; in production
a missing one stops start-up with a message that names the variable.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet


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

    @property
    def uses_embedded_default(self) -> bool:
        """True when nothing was configured: SQLite in the instance folder, the sandbox on."""
        return self.is_sqlite and self.sandbox_enabled


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


def _generated(instance_dir: Path, file_name: str, make: Callable[[], str]) -> tuple[str, bool]:
    """The development secret kept in the instance folder, made on first use; (value, made now)."""
    path = instance_dir / file_name
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    instance_dir.mkdir(parents=True, exist_ok=True)
    value = make()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, True


_GENERATED_SECRETS = {
    "ERP_SYNC_API_TOKEN": ("api-token", lambda: secrets.token_urlsafe(32)),
    "CRON_SECRET": ("cron-secret", lambda: secrets.token_urlsafe(32)),
    "ERP_SYNC_SECRET_KEYS": ("secret-keys", lambda: Fernet.generate_key().decode("ascii")),
}


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
    database_url = (env.get("ERP_SYNC_DATABASE_URL") or env.get("DATABASE_URL") or "").strip()
    if not database_url:
        database_url = f"sqlite:///{instance_dir / 'erp-sync.sqlite3'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url.removeprefix("postgres://")
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")

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

    keys = tuple(k.strip() for k in resolved["ERP_SYNC_SECRET_KEYS"].split(",") if k.strip())
    for key in keys:
        try:
            Fernet(key.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(
                "ERP_SYNC_SECRET_KEYS holds a value that is not a Fernet key (32 url-safe base64 bytes). "
                "Make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'", field="ERP_SYNC_SECRET_KEYS") from None

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
        log_level=(env.get("ERP_SYNC_LOG_LEVEL") or "INFO").upper(),
        operations=_operations(env),
        session_key=_session_key(env, instance_dir, mode, generated),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
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
        webhook_url=_secret(env, "ERP_SYNC_WEBHOOK_URL"), log_format=log_format)
