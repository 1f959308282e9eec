"""Fault injection for the SOAP endpoint, switchable at runtime through ``POST /_emulator/faults``."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

ERRORS = ("outage", "rate_limited", "drop", "token_expired", "login_failed", "timeout", "html_502")


class FaultConfigError(ValueError):
    """The posted fault configuration is not usable; the message says which key is wrong."""


@dataclass
class FaultConfig:
    """The whole fault configuration; a POST replaces it (keys left out take these defaults)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    errors: list[str] = field(default_factory=lambda: list(ERRORS))
    timeout_ms: int = 30000
    expire_tokens_now: bool = False
    seed: int | None = None
    _random: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    @classmethod
    def from_json(cls, raw: Any) -> FaultConfig:
        """Validate a posted configuration; raise ``FaultConfigError`` naming the bad key."""
        if not isinstance(raw, dict):
            raise FaultConfigError("the fault configuration must be a JSON object")
        unknown = set(raw) - {"latency_ms", "error_rate", "errors", "timeout_ms", "expire_tokens_now", "seed"}
        if unknown:
            raise FaultConfigError(f"unknown keys: {', '.join(sorted(unknown))}")
        config = cls()
        config.latency_ms = _number(raw, "latency_ms", config.latency_ms, int, 0, 600_000)
        config.error_rate = _number(raw, "error_rate", config.error_rate, float, 0.0, 1.0)
        config.timeout_ms = _number(raw, "timeout_ms", config.timeout_ms, int, 0, 600_000)
        errors = raw.get("errors", config.errors)
        if not isinstance(errors, list) or not all(isinstance(e, str) and e in ERRORS for e in errors):
            raise FaultConfigError(f"errors must be a list drawn from {', '.join(ERRORS)}")
        if config.error_rate > 0 and not errors:
            raise FaultConfigError("errors must not be empty when error_rate > 0")
        config.errors = list(errors)
        expire = raw.get("expire_tokens_now", False)
        if not isinstance(expire, bool):
            raise FaultConfigError("expire_tokens_now must be true or false")
        config.expire_tokens_now = expire
        seed = raw.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultConfigError("seed must be an integer or null")
        config.seed = seed
        config._random = random.Random(seed)
        return config

    def to_json(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "errors": list(self.errors),
            "timeout_ms": self.timeout_ms,
            "expire_tokens_now": self.expire_tokens_now,
            "seed": self.seed,
        }

    def draw(self) -> str | None:
        """The fault for this SOAP call, or None. Call under the server's lock (the generator is shared)."""
        if self.error_rate <= 0 or not self.errors:
            return None
        if self._random.random() >= self.error_rate:
            return None
        return self._random.choice(self.errors)


def _number(raw: dict[str, Any], key: str, default: Any, kind: type, low: float, high: float) -> Any:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultConfigError(f"{key} must be a number")
    if kind is int and value != int(value):
        raise FaultConfigError(f"{key} must be a whole number")
    if not low <= value <= high:
        raise FaultConfigError(f"{key} must be between {low} and {high}")
    return kind(value)
