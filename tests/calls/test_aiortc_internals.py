"""The aiortc/aioice internals the media passthrough patches: a loud failure on upgrade."""

from __future__ import annotations

import aioice.ice
import aiortc
import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver

from service.calls import passthrough
from tests.support.synthetic_calls import TEST_HOST


def test_aiortc_internals_we_patch_are_present() -> None:
    assert aiortc.__version__ == passthrough.SUPPORTED_AIORTC_VERSION
    passthrough.assert_supported_aiortc()

    passthrough.install(host_address=TEST_HOST)
    passthrough.install(host_address=TEST_HOST)  # idempotent
    assert passthrough.is_installed()
    # Still true once our wrappers are in place (they keep the original signatures).
    passthrough.assert_supported_aiortc()
    assert rtcrtpreceiver.decoder_worker.__name__ == "_idle_decoder_worker"
    assert RTCRtpReceiver.receive.__wrapped__ is not None  # type: ignore[attr-defined]
    assert RTCRtpSender._send_keyframe.__wrapped__ is not None  # type: ignore[attr-defined]
    assert aioice.ice.get_host_addresses(True, True) == [TEST_HOST]
    assert aioice.ice.get_host_addresses(False, True) == []


def test_install_refuses_a_second_host_address() -> None:
    passthrough.install(host_address=TEST_HOST)
    with pytest.raises(passthrough.PassthroughError, match="already restricted"):
        passthrough.install(host_address="192.0.2.1")


@pytest.mark.parametrize(
    ("owner", "name", "named_in_error"),
    [
        (rtcrtpreceiver, "decoder_worker", "decoder_worker"),
        (RTCRtpSender, "_send_keyframe", "_send_keyframe"),
        (RTCRtpReceiver, "_send_rtcp_pli", "_send_rtcp_pli"),
        (aioice.ice, "get_host_addresses", "get_host_addresses"),
    ],
)
def test_missing_internal_is_named_in_the_error(
    monkeypatch: pytest.MonkeyPatch, owner: object, name: str, named_in_error: str
) -> None:
    monkeypatch.delattr(owner, name)
    with pytest.raises(passthrough.PassthroughError, match=named_in_error):
        passthrough.assert_supported_aiortc()


def test_changed_signature_is_detected(monkeypatch: pytest.MonkeyPatch) -> None:
    def get_host_addresses(use_ipv4: bool) -> list[str]:
        return []

    monkeypatch.setattr(aioice.ice, "get_host_addresses", get_host_addresses)
    with pytest.raises(passthrough.PassthroughError, match="get_host_addresses"):
        passthrough.assert_supported_aiortc()


def test_vp8_keyframe_detection() -> None:
    assert passthrough.is_vp8_keyframe(b"\x10\x02\x00")  # P bit 0: keyframe
    assert not passthrough.is_vp8_keyframe(b"\x11\x02\x00")
    assert not passthrough.is_vp8_keyframe(b"")
