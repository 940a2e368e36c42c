"""Settings of the chat service: ``MARKETSCOPE_CHAT_*`` variables whose defaults run
the embedded stack (AWS endpoint and region are the shared ``AWS_*`` ones).

With no variable set the analyst is the offline engine; ``LLM_PROVIDER`` picks OpenAI,
Azure OpenAI or any OpenAI-compatible server (Ollama, vLLM, LM Studio) instead.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from marketscope_events.catalog import queue_name
from marketscope_platform.topology import DOCUMENTS_BUCKET, SECRET_NAME, SERVICES
from marketscope_servicekit import ServiceSettings

SERVICE = SERVICES["chat"]
DEFAULT_MODELS = {
    "offline": "marketscope-offline",
    "openai": "gpt-4o-mini",
    "compatible": "llama3.1",
}


def _local_url(service: str) -> str:
    return f"http://127.0.0.1:{SERVICES[service].port}"


class ModelPrice(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


# List prices per million tokens (USD) on 2026-12-01; set MARKETSCOPE_CHAT_PRICES to
# override or add models. A model with no row costs 0 and is logged once.
DEFAULT_PRICES = {
    "gpt-4o": ModelPrice(input=2.50, output=10.00),
    "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
    "gpt-4.1": ModelPrice(input=2.00, output=8.00),
    "gpt-4.1-mini": ModelPrice(input=0.40, output=1.60),
    "gpt-4.1-nano": ModelPrice(input=0.10, output=0.40),
    "marketscope-offline": ModelPrice(input=0.0, output=0.0),
}


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix=SERVICE.env_prefix)

    port: int = SERVICE.port
    table_name: str = SERVICE.table
    queue_name: str = queue_name(SERVICE.name)
    # The services the tools call, as the user.
    market_data_url: str = _local_url("market-data")
    rag_url: str = _local_url("rag")
    downstream_timeout: float = Field(default=10.0, gt=0)

    # The model.
    llm_provider: Literal["offline", "openai", "azure", "compatible"] = "offline"
    llm_model: str | None = Field(
        default=None, description="Model name; for Azure the deployment name"
    )
    llm_api_key: SecretStr | None = Field(
        default=None, description="Overrides the key in the Secrets Manager secret"
    )
    secret_name: str = SECRET_NAME
    llm_secret_field: str = SERVICE.secret_keys[0]
    llm_base_url: str | None = None
    azure_endpoint: str | None = None
    azure_api_version: str = "2024-10-21"
    llm_timeout: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_context_tokens: int | None = Field(default=None, ge=1024)

    # The tool loop.
    max_rounds: int = Field(default=6, ge=1, le=20)
    tool_timeout: float = Field(default=15.0, gt=0)
    answer_tokens: int = Field(default=1024, ge=64, description="Reserved for the answer")
    correct_ungrounded: bool = False

    # Conversations and spending.
    conversation_ttl_days: int = Field(default=30, ge=1, le=365)
    daily_token_budget: int | None = Field(default=500_000, ge=1)
    daily_cost_budget_usd: float | None = Field(default=None, gt=0)
    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))

    # Analyses.
    analysis_retention_days: int = Field(default=90, ge=1, le=3650)
    analysis_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts before AnalysisFailed(retryable=true)"
    )
    analysis_concurrency: int = Field(default=4, ge=1, le=30, description="Jobs at once")
    analysis_visibility_seconds: int = Field(
        default=60, ge=2, le=43200, description="Queue visibility, renewed while a job runs"
    )
    analysis_claim_seconds: int = Field(
        default=45, ge=2, description="How soon a job whose worker died may run again"
    )
    reports_bucket: str = DOCUMENTS_BUCKET
    reports_prefix: str = Field(
        default=SERVICE.own_prefix(), description="The service's own S3 prefix"
    )

    @model_validator(mode="after")
    def _claim_fits_visibility(self) -> Settings:
        # The heartbeat renews the claim every half visibility timeout, so the claim must
        # outlast that; and it must lapse before the message of a dead worker is visible
        # again, or the redelivery finds the job still claimed and the queue's few
        # receives run out before it can run.
        visibility, claim = self.analysis_visibility_seconds, self.analysis_claim_seconds
        if not visibility / 2 < claim < visibility:
            raise ValueError(
                "ANALYSIS_CLAIM_SECONDS must lie between half of and all of "
                f"ANALYSIS_VISIBILITY_SECONDS ({visibility / 2:g} < claim < {visibility})"
            )
        return self

    @property
    def model_name(self) -> str:
        if self.llm_model:
            return self.llm_model
        if self.llm_provider == "azure":
            raise ValueError("MARKETSCOPE_CHAT_LLM_MODEL must name the Azure deployment")
        return DEFAULT_MODELS[self.llm_provider]
