"""The WSDL schema helper (tests/wsdl_schema.py) accepts the real example envelopes and rejects wrong ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from wsdl_schema import load_wsdl_schema, validate_body


@pytest.mark.parametrize("example", ["execute-request-suds.xml", "execute-response-ok.xml"])
def test_real_examples_validate(shared_dir: Path, example: str) -> None:
    schema = load_wsdl_schema(shared_dir)
    payload = validate_body(schema, (shared_dir / "sfmc" / "examples" / example).read_bytes())
    assert payload.tag.startswith("{http://exacttarget.com/wsdl/partnerAPI}Execute")


def test_out_of_order_response_is_rejected(shared_dir: Path) -> None:
    schema = load_wsdl_schema(shared_dir)
    ok = (shared_dir / "sfmc" / "examples" / "execute-response-ok.xml").read_bytes()
    # RequestID before OverallStatus breaks the sequence of ExecuteResponseMsg.
    swapped = ok.replace(
        b"<OverallStatus>OK</OverallStatus><RequestID>dd9bb381-636a-49f5-be3f-1c5901c36656</RequestID>",
        b"<RequestID>dd9bb381-636a-49f5-be3f-1c5901c36656</RequestID><OverallStatus>OK</OverallStatus>",
    )
    assert swapped != ok
    with pytest.raises(AssertionError, match="RequestID"):
        validate_body(schema, swapped)
