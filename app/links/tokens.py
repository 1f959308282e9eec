"""Signed unsubscribe links: HS256 JWTs as AMPscript's GetJWT makes them. Pure functions: no Flask.

The contract with the emails (docs/ampscript.md):
- header exactly ``{"alg":"HS256","typ":"JWT"}``, every segment base64url without padding;
- the HMAC key is the UTF-8 bytes of the secret string as stored (never base64-decoded);
- claims ``v`` (1), a subscriber (``sk``, ``skb`` = standard Base64 of the key's UTF-8, ``sid``, ``em``; at
  least one), ``j`` JobID, ``l`` ListID, ``b`` BatchID, ``m`` child business unit MID, ``loc`` language,
  ``exp`` expiry in epoch seconds; IDs as JSON numbers or strings; unknown claims ignored.

Every failure raises a ``TokenError``; callers show one identical page for all of them, so the subclasses
exist for logs and tests, never for the person holding the link.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

EXPECTED_HEADER = {"alg": "HS256", "typ": "JWT"}
#: The header segment every link carries (PyJWT and AMPscript's GetJWT both write exactly this JSON).
HEADER_SEGMENT = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode("ascii")
MAX_TOKEN_CHARS = 4096  # a link in an email; anything longer is not ours
MAX_KEY_CHARS = 254  # Marketing Cloud's SubscriberKey and EmailAddress limits
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
_DIGITS = re.compile(r"[0-9]{1,19}")
_LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*")


class TokenError(Exception):
    """A link that cannot be honoured. The message is for logs only and never names the secret."""


class TokenInvalid(TokenError):
    """Malformed, wrongly signed, of another algorithm, or without a subscriber."""


class TokenExpired(TokenError):
    """Correctly signed, but its ``exp`` has passed."""


@dataclass(frozen=True)
class LinkClaims:
    """What a verified link says: who, which send, which language. IDs are decimal strings."""

    subscriber_key: str | None = None
    subscriber_id: str | None = None
    email: str | None = None
    job_id: str | None = None
    list_id: str | None = None
    batch_id: str | None = None
    mid: str | None = None
    locale: str | None = None
    expires_at: int | None = None

    @property
    def has_job_context(self) -> bool:
        """True when Marketing Cloud can tie this to a send: JobID or ListID (BatchID alone cannot)."""
        return bool(self.job_id or self.list_id)

    def to_payload(self) -> dict[str, Any]:
        """The JSON claims for this link, in the order the AMPscript block writes them."""
        payload: dict[str, Any] = {"v": 1}
        for name, value in (
            ("sk", self.subscriber_key),
            ("sid", self.subscriber_id),
            ("em", self.email),
            ("j", self.job_id),
            ("l", self.list_id),
            ("b", self.batch_id),
            ("m", self.mid),
            ("loc", self.locale),
        ):
            if value is not None:
                payload[name] = value
        if self.expires_at is not None:
            payload["exp"] = self.expires_at
        return payload


def verify(token: str, keys: Iterable[str], now: float | None = None) -> LinkClaims:
    """The claims of ``token`` if one of ``keys`` signed it with HS256 and it has not expired.

    ``keys`` are tried in order (rotation: the first signs, all verify). Raises ``TokenInvalid`` or
    ``TokenExpired``.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenInvalid("missing or oversized token")
    segments = token.split(".")
    if len(segments) != 3 or not all(_SEGMENT.fullmatch(segment) for segment in segments):
        raise TokenInvalid("not three base64url segments")
    # AMPscript's GetJWT writes exactly HEADER_SEGMENT; any other encoding of the same header is decoded.
    if (
        segments[0] != HEADER_SEGMENT
        and _json_object(_b64url_decode(segments[0]), "header") != EXPECTED_HEADER
    ):
        raise TokenInvalid("header is not exactly HS256/JWT")
    payload_bytes = _verified_payload(segments, keys)
    claims = _parse_claims(_json_object(payload_bytes, "payload"))
    if claims.expires_at is not None and (time.time() if now is None else now) >= claims.expires_at:
        raise TokenExpired("link has expired")
    return claims


def mint(claims: LinkClaims, key: str) -> str:
    """A token for ``claims`` signed with ``key``, byte-compatible with AMPscript's GetJWT output."""
    if not (claims.subscriber_key or claims.subscriber_id or claims.email):
        raise ValueError("a link needs a subscriber key, subscriber ID or email address")
    payload = json.dumps(claims.to_payload(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    signing_input = f"{HEADER_SEGMENT}.{_b64url_encode(payload)}"
    return f"{signing_input}.{_b64url_encode(_signature(key, signing_input.encode('ascii')))}"


def _signature(key: str, signing_input: bytes) -> bytes:
    """HMAC-SHA256 over ``header.payload`` with the UTF-8 bytes of the secret as stored (RFC 7515)."""
    return hmac.new(key.encode("utf-8"), signing_input, hashlib.sha256).digest()


def _verified_payload(segments: list[str], keys: Iterable[str]) -> bytes:
    """The payload's bytes once one of ``keys`` produced the signature (compared in constant time).

    The header was already checked to be exactly HS256/JWT, so no other algorithm can be chosen by the
    token; both other segments are decoded first, so a malformed token is refused whatever the keys.
    """
    payload = _b64url_decode(segments[1])
    signature = _b64url_decode(segments[2])
    signing_input = f"{segments[0]}.{segments[1]}".encode("ascii")
    tried = False
    for key in keys:
        tried = True
        if hmac.compare_digest(_signature(key, signing_input), signature):
            return payload
    raise TokenInvalid("signature matches no key" if tried else "no signing keys configured")


def _b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64url_decode(segment: str) -> bytes:
    """The bytes of a base64url segment in its one canonical spelling.

    A last character carries unused low bits (2 of them for a 32-byte signature); base64 decoders ignore
    them, so four spellings of one signature would all verify and a link could be re-spelled at will.
    Only the spelling whose unused bits are zero (what every encoder writes) is accepted.
    """
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise TokenInvalid("bad base64url") from None
    if _b64url_encode(raw) != segment:
        raise TokenInvalid("not the canonical base64url spelling")
    return raw


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _json_object(raw: bytes, part: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise TokenInvalid(f"{part} is not JSON") from None
    if not isinstance(value, dict):
        raise TokenInvalid(f"{part} is not a JSON object")
    return value


def _parse_claims(payload: Mapping[str, Any]) -> LinkClaims:
    version = payload.get("v", 1)
    if identifier(version, "v") != "1":
        raise TokenInvalid("unknown link version")
    subscriber_key = _text(payload.get("sk"), "sk")
    encoded_key = payload.get("skb")
    if encoded_key is not None and encoded_key != "":
        decoded_key = _standard_b64_text(encoded_key)
        if subscriber_key is not None and subscriber_key != decoded_key:
            raise TokenInvalid("sk and skb disagree")
        subscriber_key = decoded_key
    email = _text(payload.get("em"), "em")
    if email is not None and "@" not in email:
        raise TokenInvalid("em is not an email address")
    claims = LinkClaims(
        subscriber_key=subscriber_key,
        subscriber_id=identifier(payload.get("sid"), "sid"),
        email=email,
        job_id=identifier(payload.get("j"), "j"),
        list_id=identifier(payload.get("l"), "l"),
        batch_id=identifier(payload.get("b"), "b"),
        mid=identifier(payload.get("m"), "m"),
        locale=locale_tag(payload.get("loc")),
        expires_at=_expiry(payload.get("exp")),
    )
    if not (claims.subscriber_key or claims.subscriber_id or claims.email):
        raise TokenInvalid("no subscriber in the link")
    return claims


def _text(value: Any, name: str) -> str | None:
    """A subscriber string: absent or empty is None (AMPscript writes "" for an empty field)."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_KEY_CHARS:
        raise TokenInvalid(f"{name} is not a string of up to {MAX_KEY_CHARS} characters")
    return value if value.strip() else None


def _standard_b64_text(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 4 * MAX_KEY_CHARS:
        raise TokenInvalid("skb is not a string")
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise TokenInvalid("skb is not standard Base64 of UTF-8") from None
    if not decoded.strip() or len(decoded) > MAX_KEY_CHARS:
        raise TokenInvalid("skb holds no usable subscriber key")
    return decoded


def identifier(value: Any, name: str) -> str | None:
    """A Marketing Cloud ID as a decimal string: a non-negative integer below 10**19 given as a JSON number
    or a string of ASCII digits (spaces around and leading zeros allowed); None when absent or empty.

    ``mint-link`` checks its ID options with this too, so what it prints is what the app accepts
    (``str.isdigit`` would let through Arabic-Indic, fullwidth and superscript digits).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise TokenInvalid(f"{name} is not an ID")
    if isinstance(value, int):
        if value < 0 or value >= 10**19:
            raise TokenInvalid(f"{name} is out of range")
        return str(value)
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return None
        if _DIGITS.fullmatch(stripped):
            return str(int(stripped))
    raise TokenInvalid(f"{name} is not an ID")


def locale_tag(value: Any) -> str | None:
    """A language tag from the link; a malformed one is ignored (the page then uses the browser's)."""
    if isinstance(value, str) and _LOCALE.fullmatch(value.strip()):
        return value.strip()
    return None


def _expiry(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise TokenInvalid("exp is not a time")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):  # 1e400 is valid JSON that Python reads as infinity
            raise TokenInvalid("exp is not a time")
        return int(value)
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    raise TokenInvalid("exp is not a time")
