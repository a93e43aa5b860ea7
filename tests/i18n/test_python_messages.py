"""Python's messages to a person: each is a literal the catalogue can hold, translated before
the values of the moment (a limit, a count, a file name) are filled in."""

from __future__ import annotations

import pytest

import service.i18n.context
from service.accounts.passwords import MIN_LENGTH, check_password_policy
from service.centre import referrals
from service.errors import Invalid
from service.i18n import use_language
from service.i18n.extract import python_messages, untranslatable_python_messages
from service.letterbox import gifts
from service.plan import plans
from service.reports import reports
from storage.models import GiftStatus, ReferralStatus, ReportStatus

SHORT_PASSWORD = (
    "Your password needs at least {min_length} characters. A few words in a row make a good "
    "password."
)


def test_every_python_message_a_person_reads_can_be_in_the_catalogue() -> None:
    assert untranslatable_python_messages() == []


def test_a_message_is_translated_before_its_values_are_filled_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert SHORT_PASSWORD in {text for text, _path, _line in python_messages()}
    welsh = {SHORT_PASSWORD: "Mae angen o leiaf {min_length} nod ar eich cyfrinair."}
    monkeypatch.setattr(
        service.i18n.context, "translations", lambda language: welsh if language == "cy" else {}
    )
    with use_language("cy"), pytest.raises(Invalid) as refused:
        check_password_policy("short")
    assert refused.value.message == f"Mae angen o leiaf {MIN_LENGTH} nod ar eich cyfrinair."
    assert refused.value.field == "password"
    with pytest.raises(Invalid) as in_english:
        check_password_policy("short")
    assert in_english.value.message == SHORT_PASSWORD.format(min_length=MIN_LENGTH)


@pytest.mark.parametrize(
    ("words", "needed"),
    [
        (gifts._STATUS_WORDS, set(GiftStatus)),
        (reports._STATUS_WORDS, set(ReportStatus)),
        (referrals._ALREADY_CLOSED, set(ReferralStatus) - {ReferralStatus.RECEIVED}),
        (plans._BOTH_WAYS, set(plans.CHANNELS)),
    ],
    ids=["gift", "report", "referral", "plan channel"],
)
def test_every_state_a_refusal_can_name_has_its_words(words: dict, needed: set) -> None:
    assert set(words) == needed
