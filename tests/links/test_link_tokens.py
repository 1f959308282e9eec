"""Link tokens as pure functions: the issue's vector, every claim combination, rotation, each rejection."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.identity import FIELDS, Recipient
from app.links import LinkClaims, TokenError, TokenExpired, TokenInvalid, mint, verify
from app.links.tokens import sign as sign_payload
from app.links.tokens import signed_payload

KEY = "test-signing-key-0123456789abcdef"
OTHER_KEY = "someone-elses-key-0123456789"
ISSUE_SECRET = "sfmc-probe-secret-2026"
ISSUE_TOKEN = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJwcm9iZSIsIm4iOjd9."
    "308Bu1Ma_gFb0_8RNujndwB8xJh6n3myT7xZ3h7BNhE"
)
HEADER_SEGMENT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"  # {"alg":"HS256","typ":"JWT"}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign(header: bytes | str, payload: bytes | str, key: bytes | str = KEY) -> str:
    """A token built by hand: any header, any payload bytes, HMAC-SHA256 over them."""
    header = header.encode() if isinstance(header, str) else header
    payload = payload.encode() if isinstance(payload, str) else payload
    key = key.encode() if isinstance(key, str) else key
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def claims_token(claims: dict[str, Any], key: str = KEY) -> str:
    return sign('{"alg":"HS256","typ":"JWT"}', json.dumps(claims, separators=(",", ":")), key)


# --- the issue's test vector ------------------------------------------------------------------------


def test_issue_vector_signature_verifies_byte_for_byte() -> None:
    """PyJWT (which verifies and signs for us) against the issue's vector and a hand-computed HMAC."""
    assert signed_payload(ISSUE_TOKEN, [OTHER_KEY, ISSUE_SECRET]) == b'{"sub":"probe","n":7}'
    assert sign_payload(b'{"sub":"probe","n":7}', ISSUE_SECRET) == ISSUE_TOKEN
    with pytest.raises(TokenInvalid, match="no key"):
        signed_payload(ISSUE_TOKEN, [OTHER_KEY])
    # the independent check: HMAC-SHA256 over header.payload, computed here with hmac alone
    signing_input = HEADER_SEGMENT + "." + b64url(b'{"sub":"probe","n":7}')
    digest = hmac.new(ISSUE_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    assert f"{signing_input}.{b64url(digest)}" == ISSUE_TOKEN
    assert sign('{"alg":"HS256","typ":"JWT"}', '{"sub":"probe","n":7}', ISSUE_SECRET) == ISSUE_TOKEN


def test_issue_vector_is_refused_as_a_link_because_it_names_no_subscriber() -> None:
    with pytest.raises(TokenInvalid):
        verify(ISSUE_TOKEN, [ISSUE_SECRET])


def test_a_link_signed_like_the_issue_vector_with_a_subscriber_verifies() -> None:
    token = sign('{"alg":"HS256","typ":"JWT"}', '{"sk":"probe","n":7}', ISSUE_SECRET)
    assert verify(token, [ISSUE_SECRET]).recipient.subscriber_key == "probe"


def test_key_that_looks_like_base64_is_used_as_its_utf8_bytes_not_decoded() -> None:
    key = "c2ZtYy1wcm9iZS1zZWNyZXQtMjAyNg=="  # base64 of the issue's secret
    as_text = claims_token({"sk": "probe"}, key)
    as_decoded = sign('{"alg":"HS256","typ":"JWT"}', '{"sk":"probe"}', base64.b64decode(key))
    assert verify(as_text, [key]).recipient.subscriber_key == "probe"
    with pytest.raises(TokenInvalid):
        verify(as_decoded, [key])


def test_mint_writes_exactly_the_ampscript_header_and_compact_json() -> None:
    token = mint(
        LinkClaims(Recipient(subscriber_key="demo-001", job_id="18099", list_id="17914", batch_id="0")), KEY
    )
    header, payload, _signature = token.split(".")
    assert header == HEADER_SEGMENT
    assert "=" not in token
    assert (
        base64.urlsafe_b64decode(payload + "==") == b'{"v":1,"sk":"demo-001","j":"18099","l":"17914","b":"0"}'
    )
    assert token == claims_token({"v": 1, "sk": "demo-001", "j": "18099", "l": "17914", "b": "0"})


# --- every claim combination ------------------------------------------------------------------------

SUBSCRIBER_CLAIMS = {
    "sk": ("sk", 'demo-032 <&> "quoted"', "subscriber_key", 'demo-032 <&> "quoted"'),
    "skb": (
        "skb",
        base64.b64encode('démo-031 "q"'.encode()).decode(),
        "subscriber_key",
        'démo-031 "q"',
    ),
    "sid": ("sid", 1032, "subscriber_id", "1032"),
    "em": ("em", "zoë.031@example.com", "email", "zoë.031@example.com"),
}
CONTEXT_CLAIMS = {
    "j": ("j", "18099", "job_id", "18099"),
    "l": ("l", 17914, "list_id", "17914"),
    "b": ("b", 0, "batch_id", "0"),
    "m": ("m", "510001001", "mid", "510001001"),
    "loc": ("loc", "de-AT", "locale", "de-AT"),
    "exp": ("exp", 4102444800, "expires_at", 4102444800),
}


def _subsets(names: list[str], minimum: int) -> list[tuple[str, ...]]:
    return [combo for size in range(minimum, len(names) + 1) for combo in itertools.combinations(names, size)]


# sk and skb together must name the same key: test_sk_and_skb_must_agree.
SUBSCRIBER_SETS = [combo for combo in _subsets(list(SUBSCRIBER_CLAIMS), 1) if not {"sk", "skb"} <= set(combo)]


@pytest.mark.parametrize("subscriber", SUBSCRIBER_SETS, ids="+".join)
def test_every_claim_combination_verifies_to_the_same_values(subscriber: tuple[str, ...]) -> None:
    """Each non-empty subscriber set with every subset of the context claims (64 per set)."""
    for context in _subsets(list(CONTEXT_CLAIMS), 0):
        chosen = [SUBSCRIBER_CLAIMS[name] for name in subscriber] + [CONTEXT_CLAIMS[name] for name in context]
        payload = {"v": 1, **{claim: value for claim, value, _field, _expected in chosen}}
        claims = verify(claims_token(payload), [KEY], now=1_700_000_000)
        expected = {field: value for _claim, _value, field, value in chosen}
        for field in FIELDS:
            assert getattr(claims.recipient, field) == expected.get(field), (payload, field)
        for field in ("locale", "expires_at"):
            assert getattr(claims, field) == expected.get(field), (payload, field)
        assert claims.has_job_context == ("j" in context or "l" in context)


def test_sk_and_skb_must_agree() -> None:
    encoded = base64.b64encode(b"demo-001").decode()
    assert (
        verify(claims_token({"sk": "demo-001", "skb": encoded}), [KEY]).recipient.subscriber_key == "demo-001"
    )
    with pytest.raises(TokenInvalid):
        verify(claims_token({"sk": "demo-002", "skb": encoded}), [KEY])


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(18099, "18099"), ("18099", "18099"), (" 18099 ", "18099"), ("0", "0"), (0, "0"), ("", None)],
)
def test_ids_arrive_as_numbers_or_strings(raw: Any, expected: str | None) -> None:
    claims = verify(
        claims_token({"sk": "demo-001", "j": raw, "l": raw, "b": raw, "m": raw, "sid": raw}), [KEY]
    )
    assert (
        claims.recipient.job_id,
        claims.recipient.list_id,
        claims.recipient.batch_id,
        claims.recipient.mid,
        claims.recipient.subscriber_id,
    ) == (expected,) * 5


def test_version_may_be_absent_and_unknown_claims_are_ignored() -> None:
    claims = verify(claims_token({"sk": "demo-001", "campaign": {"x": [1, 2]}, "sub": "probe"}), [KEY])
    assert claims == LinkClaims(Recipient(subscriber_key="demo-001"))


def test_malformed_locale_is_ignored_not_fatal() -> None:
    assert verify(claims_token({"sk": "demo-001", "loc": "<script>"}), [KEY]).locale is None


def test_expiry_is_checked_against_the_clock() -> None:
    token = claims_token({"sk": "demo-001", "exp": 2_000_000_000})
    assert verify(token, [KEY], now=1_999_999_999).expires_at == 2_000_000_000
    with pytest.raises(TokenExpired):
        verify(token, [KEY], now=2_000_000_000)


# --- rotation ---------------------------------------------------------------------------------------


def test_rotation_first_key_signs_every_key_verifies() -> None:
    keys = [KEY, OTHER_KEY]
    assert (
        verify(mint(LinkClaims(Recipient(subscriber_key="a")), keys[0]), keys).recipient.subscriber_key == "a"
    )
    assert (
        verify(mint(LinkClaims(Recipient(subscriber_key="b")), OTHER_KEY), keys).recipient.subscriber_key
        == "b"
    )


def test_a_retired_key_no_longer_verifies() -> None:
    token = mint(LinkClaims(Recipient(subscriber_key="a")), OTHER_KEY)
    with pytest.raises(TokenInvalid):
        verify(token, [KEY])


def test_no_keys_verifies_nothing() -> None:
    with pytest.raises(TokenInvalid):
        verify(mint(LinkClaims(Recipient(subscriber_key="a")), KEY), [])


# --- rejections -------------------------------------------------------------------------------------

GOOD_PAYLOAD = '{"v":1,"sk":"demo-001","j":"18099","l":"17914","b":"0"}'


def _tampered_payload() -> str:
    header, _payload, signature = claims_token(json.loads(GOOD_PAYLOAD)).split(".")
    return f"{header}.{b64url(GOOD_PAYLOAD.replace('demo-001', 'demo-002').encode())}.{signature}"


def _alg_none() -> str:
    header = b64url(b'{"alg":"none","typ":"JWT"}')
    return f"{header}.{b64url(GOOD_PAYLOAD.encode())}."


def _hs512() -> str:
    header = b64url(b'{"alg":"HS512","typ":"JWT"}')
    signing_input = f"{header}.{b64url(GOOD_PAYLOAD.encode())}"
    return (
        f"{signing_input}.{b64url(hmac.new(KEY.encode(), signing_input.encode(), hashlib.sha512).digest())}"
    )


def _standard_alphabet() -> str:
    token = sign('{"alg":"HS256","typ":"JWT"}', '{"sk":"\u00ff\u00ff\u00ff>>>???"}')
    assert "-" in token or "_" in token
    return token.replace("-", "+").replace("_", "/")


REJECTED_TOKENS: dict[str, Any] = {
    "empty": lambda: "",
    "garbage": lambda: "not-a-token",
    "two segments": lambda: ".".join(claims_token({"sk": "a"}).split(".")[:2]),
    "four segments": lambda: claims_token({"sk": "a"}) + ".x",
    "alg none": _alg_none,
    "alg none signed": lambda: sign('{"alg":"none","typ":"JWT"}', GOOD_PAYLOAD),
    "alg HS512": _hs512,
    "alg HS384 header": lambda: sign('{"alg":"HS384","typ":"JWT"}', GOOD_PAYLOAD),
    "alg RS256 header": lambda: sign('{"alg":"RS256","typ":"JWT"}', GOOD_PAYLOAD),
    "alg lowercase": lambda: sign('{"alg":"hs256","typ":"JWT"}', GOOD_PAYLOAD),
    "header without typ": lambda: sign('{"alg":"HS256"}', GOOD_PAYLOAD),
    "header with kid": lambda: sign('{"alg":"HS256","typ":"JWT","kid":"1"}', GOOD_PAYLOAD),
    "header with crit": lambda: sign('{"alg":"HS256","typ":"JWT","crit":["b64"],"b64":false}', GOOD_PAYLOAD),
    "header not json": lambda: sign("{alg:HS256}", GOOD_PAYLOAD),
    "header a list": lambda: sign('["HS256"]', GOOD_PAYLOAD),
    "wrong key": lambda: claims_token(json.loads(GOOD_PAYLOAD), OTHER_KEY),
    "tampered payload": _tampered_payload,
    "tampered signature": lambda: claims_token(json.loads(GOOD_PAYLOAD))[:-4] + "AAAA",
    "padding in segment": lambda: claims_token({"sk": "a"}).replace(".", "=.", 1),
    "non-base64 character": lambda: claims_token({"sk": "a"}).replace(".", "!.", 1),
    "standard base64 alphabet": lambda: _standard_alphabet(),
    "payload not json": lambda: sign('{"alg":"HS256","typ":"JWT"}', "sk=demo-001"),
    "payload a list": lambda: sign('{"alg":"HS256","typ":"JWT"}', '["demo-001"]'),
    "payload NaN": lambda: sign('{"alg":"HS256","typ":"JWT"}', '{"sk":"a","exp":NaN}'),
    "payload not utf-8": lambda: sign('{"alg":"HS256","typ":"JWT"}', b'{"sk":"\xff"}'),
    "no subscriber": lambda: claims_token({"v": 1, "j": "18099", "l": "17914"}),
    "empty subscriber": lambda: claims_token({"sk": "", "em": " "}),
    "unknown version": lambda: claims_token({"v": 2, "sk": "a"}),
    "negative id": lambda: claims_token({"sk": "a", "j": -1}),
    "float id": lambda: claims_token({"sk": "a", "l": 17914.5}),
    "boolean id": lambda: claims_token({"sk": "a", "b": True}),
    "id with letters": lambda: claims_token({"sk": "a", "j": "18099x"}),
    "sk not a string": lambda: claims_token({"sk": 12}),
    "sk too long": lambda: claims_token({"sk": "a" * 255}),
    "skb not base64": lambda: claims_token({"skb": "not base64!"}),
    "skb base64url alphabet": lambda: claims_token({"skb": "__--"}),
    "skb not utf-8": lambda: claims_token({"skb": base64.b64encode(b"\xff\xfe").decode()}),
    "em without @": lambda: claims_token({"em": "nobody"}),
    "exp not a time": lambda: claims_token({"sk": "a", "exp": "tomorrow"}),
    "expired": lambda: claims_token({"sk": "a", "exp": 1_000_000_000}),
    "oversized": lambda: claims_token({"sk": "a", "pad": "x" * 5000}),
}


@pytest.mark.parametrize("case", list(REJECTED_TOKENS))
def test_each_rejection_raises_a_token_error(case: str) -> None:
    expected = TokenExpired if case == "expired" else TokenInvalid
    with pytest.raises(expected):
        verify(REJECTED_TOKENS[case](), [KEY, OTHER_KEY] if case != "wrong key" else [KEY])


def test_mint_refuses_a_link_without_subscriber() -> None:
    with pytest.raises(ValueError):
        mint(LinkClaims(Recipient(job_id="1")), KEY)


# --- anything at all --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), st.builds(".".join, st.lists(st.text(max_size=80), max_size=5))))
def test_any_unsigned_string_raises_a_token_error_and_nothing_else(token: str) -> None:
    with pytest.raises(TokenError):
        verify(token, [KEY])


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["v", "sk", "skb", "sid", "em", "j", "l", "b", "m", "loc", "exp", "x"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=5,
        ),
    )
)
def test_any_signed_json_object_either_verifies_or_raises_a_token_error(claims: dict[str, Any]) -> None:
    """A correctly signed token with any claims (wrong types included) never escapes as another error."""
    token = sign('{"alg":"HS256","typ":"JWT"}', json.dumps(claims, allow_nan=True))
    try:
        result = verify(token, [KEY])
    except TokenError:
        return
    assert result.recipient.identified
