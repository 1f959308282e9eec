"""Signed unsubscribe links: HS256 JWTs as AMPscript's GetJWT makes them. Pure functions: no Flask.

The contract with the emails (docs/ampscript.md):
- header exactly ``{"alg":"HS256","typ":"JWT"}``, every segment base64url without padding;
- the HMAC key is the UTF-8 bytes of the secret string as stored (never base64-decoded);
- claims ``v`` (1), a subscriber (``sk``, ``skb`` = standard Base64 of the key's UTF-8, ``sid``, ``em``; at
  least one), ``j`` JobID, ``l`` ListID, ``b`` BatchID, ``m`` child business unit MID, ``loc`` language,
  ``exp`` expiry in epoch seconds; IDs as JSON numbers or strings; unknown claims ignored.

PyJWT does the JWS part (segments, signature, algorithm); the claims are read here, into the shared
``Recipient`` (``app/identity.py``). Every failure raises a ``TokenError``; callers show one identical page
for all of them, so the subclasses exist for logs and tests, never for the person holding the link.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidSignatureError, PyJWTError

from app.identity import FIELDS, ID_FIELDS, Recipient

EXPECTED_HEADER = {"alg": "HS256", "typ": "JWT"}
MAX_TOKEN_CHARS = 4096  # a link in an email; anything longer is not ours
MAX_KEY_CHARS = 254  # Marketing Cloud's SubscriberKey and EmailAddress limits
#: Which claim carries each identity field (docs/ampscript.md), in the order the AMPscript block writes them.
CLAIM_NAMES: dict[str, str] = dict(zip(FIELDS, ("sk", "sid", "em", "j", "l", "b", "m"), strict=True))
# Three base64url segments without padding: PyJWT would also take trailing "=" and an empty signature.
_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
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
    """What a verified link says: who and which send (``recipient``), which language, until when."""

    recipient: Recipient
    locale: str | None = None
    expires_at: int | None = None

    @property
    def has_job_context(self) -> bool:
        """The page offers "this list" only when the link names a send (``Recipient.has_job_context``)."""
        return self.recipient.has_job_context

    def to_payload(self) -> dict[str, Any]:
        """The JSON claims for this link, in the order the AMPscript block writes them."""
        payload: dict[str, Any] = {"v": 1}
        for name, value in self.recipient.as_dict().items():
            if value is not None:
                payload[CLAIM_NAMES[name]] = value
        if self.locale is not None:
            payload["loc"] = self.locale
        if self.expires_at is not None:
            payload["exp"] = self.expires_at
        return payload


class _SecretHS256(HMACAlgorithm):
    """PyJWT's HMAC-SHA256 with the key as the emails' contract defines it: the UTF-8 bytes of the secret.

    PyJWT's own key preparation refuses secrets that look like a PEM key or a JWK (and parses each one as
    JSON on every call), and warns about keys under 32 bytes (the test suite turns warnings into errors).
    The secrets are strings a marketer stores in Marketing Cloud's Key Management; ``config.py`` already
    decides how short one may be (16 bytes), so neither check would add anything here.
    """

    def __init__(self) -> None:
        super().__init__(HMACAlgorithm.SHA256)

    def prepare_key(self, key: str | bytes) -> bytes:
        """The secret's UTF-8 bytes, never decoded from base64 or parsed."""
        return key if isinstance(key, bytes) else key.encode("utf-8")

    def check_key_length(self, key: bytes) -> str | None:
        """No warning: the length floor is ``LINK_SIGNING_KEYS``'s, checked when the app starts."""
        return None


def _hs256_only() -> PyJWS:
    jws = PyJWS(algorithms=[])
    jws.register_algorithm("HS256", _SecretHS256())
    return jws


_JWS = _hs256_only()


def verify(token: str, keys: Iterable[str], now: float | None = None) -> LinkClaims:
    """The claims of ``token`` if one of ``keys`` signed it with HS256 and it has not expired.

    ``keys`` are tried in order (rotation: the first signs, all verify). Raises ``TokenInvalid`` or
    ``TokenExpired``, and nothing else whatever the token holds.
    """
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        raise TokenInvalid("missing or oversized token")
    if not _TOKEN.fullmatch(token):
        raise TokenInvalid("not three base64url segments")
    claims = _parse_claims(_json_object(signed_payload(token, keys), "payload"))
    if claims.expires_at is not None and (time.time() if now is None else now) >= claims.expires_at:
        raise TokenExpired("link has expired")
    return claims


def mint(claims: LinkClaims, key: str) -> str:
    """A token for ``claims`` signed with ``key``, byte-compatible with AMPscript's GetJWT output."""
    if not claims.recipient.identified:
        raise ValueError("a link needs a subscriber key, subscriber ID or email address")
    payload = json.dumps(claims.to_payload(), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return sign(payload, key)


def sign(payload: bytes, key: str) -> str:
    """``payload`` as a token signed with ``key``: PyJWT writes the header as GetJWT does, byte for byte
    (``{"alg":"HS256","typ":"JWT"}``, keys sorted, no spaces), and every segment without padding."""
    return _JWS.encode(payload, key, algorithm="HS256")


def signed_payload(token: str, keys: Iterable[str]) -> bytes:
    """The payload's bytes once PyJWT found that one of ``keys`` signed ``token`` with HS256.

    PyJWT decodes each segment in its one canonical base64url spelling only (a last character's unused
    bits must be zero, so a link cannot be re-spelled), compares the HMAC in constant time and takes no
    algorithm but HS256; the header must then be exactly the one GetJWT writes (no ``kid``, no ``crit``).
    """
    tried = False
    for key in keys:
        tried = True
        try:
            signed = _JWS.decode_complete(token, key, algorithms=["HS256"])
        except InvalidSignatureError:
            continue
        except PyJWTError as exc:
            raise TokenInvalid(f"unreadable token ({type(exc).__name__})") from None
        if signed["header"] != EXPECTED_HEADER:
            raise TokenInvalid("header is not exactly HS256/JWT")
        return signed["payload"]
    raise TokenInvalid("signature matches no key" if tried else "no signing keys configured")


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
    recipient = Recipient(
        subscriber_key=_subscriber_key(payload),
        email=_email(payload.get(CLAIM_NAMES["email"])),
        **{name: identifier(payload.get(CLAIM_NAMES[name]), CLAIM_NAMES[name]) for name in ID_FIELDS},
    )
    if not recipient.identified:
        raise TokenInvalid("no subscriber in the link")
    return LinkClaims(
        recipient=recipient, locale=locale_tag(payload.get("loc")), expires_at=_expiry(payload.get("exp"))
    )


def _subscriber_key(payload: Mapping[str, Any]) -> str | None:
    """``sk``, or the key ``skb`` carries as standard Base64 (they must agree when both are given)."""
    subscriber_key = _text(payload.get("sk"), "sk")
    encoded_key = payload.get("skb")
    if encoded_key is not None and encoded_key != "":
        decoded_key = _standard_b64_text(encoded_key)
        if subscriber_key is not None and subscriber_key != decoded_key:
            raise TokenInvalid("sk and skb disagree")
        subscriber_key = decoded_key
    return subscriber_key


def _email(value: Any) -> str | None:
    email = _text(value, "em")
    if email is not None and "@" not in email:
        raise TokenInvalid("em is not an email address")
    return email


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
