"""Settings: an optional `veil.toml`, overridden by `VEIL_*` environment variables. Frozen."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("veil.toml")
ConsentPurpose = Literal["send_to_provider", "store_transcripts", "provider_retention"]


class Settings(BaseSettings):
    """Everything Veil can be told. Field names match `veil.toml` keys; env is `VEIL_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="VEIL_", frozen=True, extra="forbid", populate_by_name=True)

    upstream_base_url: str = "https://api.openai.com/v1"
    # The organization's upstream key. Unset: the client's own bearer token is forwarded.
    upstream_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("VEIL_UPSTREAM_API_KEY", "OPENAI_API_KEY")
    )
    upstream_connect_timeout: float = 10.0
    upstream_read_timeout: float = 600.0
    upstream_max_connections: int = 200

    host: str = "127.0.0.1"
    port: int = 8080

    # The active master key (else the key file `data_dir/master.key`, created on first start),
    # and keys it replaced whose wrapped rows are still being re-wrapped (comma-separated).
    master_key: SecretStr | None = None
    retired_master_keys: SecretStr | None = None
    data_dir: Path = Path(".veil")
    # SQLAlchemy URL; default: the SQLite file `data_dir/veil.db`.
    # PostgreSQL: postgresql+psycopg://user@host/dbname
    database_url: str | None = None
    # Every commit waits for the disk: records survive a power cut, not only a crash of Veil.
    durable_commits: bool = False
    # How long a statement waits for a lock another transaction holds (SQLite's busy timeout,
    # PostgreSQL's lock_timeout) before its request fails with 503; and, on PostgreSQL, how
    # long any one statement may run.
    database_lock_timeout_seconds: float = Field(default=5.0, gt=0)
    database_statement_timeout_seconds: float = Field(default=300.0, gt=0)
    # What is kept of each request: none | metadata | pseudonymized | full.
    storage_mode: Literal["none", "metadata", "pseudonymized", "full"] = "metadata"
    # "memory" keeps tokens in this process only (tests, demos); nothing survives a restart.
    vault: Literal["database", "memory"] = "database"
    retention_transcripts_days: float = Field(default=30.0, gt=0)
    retention_metadata_days: float = Field(default=90.0, gt=0)
    # Vault mappings: counted from their last use.
    retention_vault_days: float = Field(default=7.0, gt=0)
    purge_interval_seconds: float = Field(default=3600.0, gt=0)

    max_body_bytes: int = 10 * 1024 * 1024
    phone_region: str = "US"
    # The spaCy pipeline for names, places and organizations: the bundled default, any
    # installed pipeline's name, or a path. Empty: rule detectors only.
    ner_model: str = "en_core_web_sm"
    # The most text not seen before that the model reads for one request (characters);
    # more is refused with a 413 before the model runs (see veil.detect.ner).
    ner_max_chars: int = Field(default=500_000, gt=0)
    # Terms never treated as personal data (product names, the company's own name...).
    allow_list: tuple[str, ...] = ()
    scan_responses: bool = True
    # How much of a streamed reply may be held back while a value could still be forming.
    stream_hold_max_chars: int = 8192
    subject_header: str = "x-veil-subject"
    # Where the data subject's id comes from, first match wins: "user", "safety_identifier",
    # "header" (subject_header). None of them: the API key's scope.
    subject_sources: tuple[Literal["user", "safety_identifier", "header"], ...] = (
        "user",
        "safety_identifier",
        "header",
    )
    # A subject's consent before they make a choice of their own (purposes left out keep
    # Veil's defaults: send_to_provider and store_transcripts granted, provider_retention not).
    consent_defaults: dict[ConsentPurpose, bool] = Field(default_factory=dict)
    # A policy file (TOML, see docs/policy.md): per tenant actions, detectors, storage and
    # provider controls; reloaded when it changes. Unset: the policy is made from these settings.
    policy_file: Path | None = None
    # How often the policy file is checked for changes.
    policy_check_seconds: float = Field(default=1.0, ge=0)
    # Refuse requests without a Veil virtual key even before any key exists.
    require_keys: bool = False
    # The admin API and dashboard; unset: they answer 401 to everyone.
    admin_key: SecretStr | None = None
    portal_token_ttl_seconds: float = Field(default=900.0, gt=0)
    log_level: str = "INFO"

    @property
    def key_file(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'veil.db').absolute()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("VEIL_CONFIG", DEFAULT_CONFIG_FILE))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, config_file))
