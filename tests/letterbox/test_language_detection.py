"""Letters not in English or Welsh: the detector names their language in English, the same
way every time, says nothing when a text is too short or unclear to tell, and the moderation
page tells staff "This letter seems to be in Polish" (issue 21 item 4)."""

from __future__ import annotations

import socket
import uuid
from importlib import resources

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from service.appkeys import KEYRING, SESSIONMAKER
from service.letterbox.intake import LANGUAGE_PURPOSE
from service.letterbox.language import LANGUAGE_NAMES, LanguageDetector
from storage.models import ItemPart, PartKind
from tests.support.letterbox_world import make_world, send_letter
from tests.support.pages import without_random_tokens

# Letters from a parent to a child, written for these tests, one per language.
LETTERS = {
    "pl": (
        "Kochany Kubo, bardzo za Tobą tęsknię i myślę o Tobie każdego dnia. Mam nadzieję, że "
        "w szkole wszystko jest dobrze i że masz wielu kolegów. Babcia przesyła Ci buziaki i "
        "pyta, czy nadal lubisz rysować konie. W weekend byłem na spacerze nad rzeką i "
        "widziałem dwa łabędzie. Pamiętaj, żeby słuchać mamy i jeść warzywa. Bardzo Cię kocham "
        "i czekam na Twój list. Tata"
    ),
    "ro": (
        "Dragul meu Andrei, mi-e foarte dor de tine și mă gândesc la tine în fiecare zi. Sper "
        "că ești sănătos și că îți place la școală. Bunica îți trimite multe pupici și întreabă "
        "dacă mai joci fotbal. Săptămâna trecută am făcut o prăjitură cu mere, cea pe care o "
        "iubeai când erai mic. Te rog să fii cuminte și să o asculți pe mama. Te iubesc mult și "
        "aștept cu drag să-mi scrii. Tata"
    ),
    "pt": (
        "Querida Beatriz, tenho muitas saudades tuas e penso em ti todos os dias. Espero que "
        "estejas bem e que a escola esteja a correr bem. A avó manda-te muitos beijinhos e "
        "pergunta se ainda gostas de dançar. No fim de semana fui passear à beira do rio e "
        "lembrei-me de quando íamos juntos dar comida aos patos. Porta-te bem e ajuda a tua mãe "
        "em casa. Gosto muito de ti e fico à espera da tua carta. Um abraço apertado do pai"
    ),
    "lt": (
        "Mielas Lukai, labai tavęs pasiilgau ir galvoju apie tave kiekvieną dieną. Tikiuosi, "
        "kad tau sekasi mokykloje ir kad turi daug draugų. Močiutė siunčia tau daug bučinių ir "
        "klausia, ar vis dar mėgsti piešti. Savaitgalį buvau prie ežero ir mačiau daug gulbių. "
        "Būk geras ir klausyk mamos. Aš tave labai myliu ir laukiu tavo laiško. Tavo tėtis"
    ),
    "ar": (
        "حبيبي يوسف، اشتقت إليك كثيراً وأفكر فيك كل يوم. أتمنى أن تكون بخير وأن تكون سعيداً في "
        "المدرسة. جدتك ترسل لك الكثير من القبلات وتسأل إن كنت ما زلت تحب كرة القدم. في عطلة "
        "نهاية الأسبوع ذهبت إلى الحديقة وتذكرت عندما كنا نلعب معاً. كن ولداً مطيعاً واسمع كلام "
        "أمك. أحبك كثيراً وأنتظر رسالتك. بابا"
    ),
    "ur": (
        "میرے پیارے علی، مجھے تمہاری بہت یاد آتی ہے اور میں ہر روز تمہارے بارے میں سوچتا ہوں۔ "
        "مجھے امید ہے کہ تم ٹھیک ہو اور اسکول میں خوش ہو۔ تمہاری دادی تمہیں بہت سارا پیار "
        "بھیجتی ہیں اور پوچھتی ہیں کہ کیا تم اب بھی کرکٹ کھیلتے ہو۔ پچھلے ہفتے میں نے پارک میں "
        "بہت سے بچوں کو پتنگ اڑاتے دیکھا اور مجھے تمہاری یاد آئی۔ اپنی امی کی بات ماننا اور "
        "اچھے سے پڑھائی کرنا۔ میں تم سے بہت پیار کرتا ہوں اور تمہارے خط کا انتظار کروں گا۔ "
        "تمہارا ابو"
    ),
    "es": (
        "Querida Lucía, te echo mucho de menos y pienso en ti todos los días. Espero que estés "
        "bien y que te guste mucho el colegio. La abuela te manda muchos besos y pregunta si "
        "todavía te gusta nadar. El domingo fui al parque y vi a unos niños jugando con una "
        "cometa, y me acordé de ti. Pórtate bien y haz caso a tu madre. Te quiero muchísimo y "
        "espero tu carta con muchas ganas. Un abrazo muy fuerte de papá"
    ),
    "fr": (
        "Mon cher Théo, tu me manques beaucoup et je pense à toi tous les jours. J'espère que "
        "tu vas bien et que tout se passe bien à l'école. Mamie t'envoie plein de bisous et "
        "demande si tu aimes toujours jouer au foot. Ce week-end, je suis allé me promener au "
        "bord de la mer et j'ai ramassé de jolis coquillages pour toi. Sois sage et écoute bien "
        "ta maman. Je t'aime très fort et j'attends ta lettre avec impatience. Papa"
    ),
    "uk": (
        "Мій любий Максиме, я дуже сумую за тобою і думаю про тебе щодня. Сподіваюся, що в "
        "тебе все добре і тобі подобається в школі. Бабуся передає тобі багато поцілунків і "
        "питає, чи ти досі любиш малювати. Минулих вихідних я ходив до лісу і бачив білку. Будь "
        "слухняним і допомагай мамі. Я тебе дуже люблю і чекаю на твій лист. Твій тато"
    ),
    "tr": (
        "Sevgili oğlum Emre, seni çok özledim ve her gün seni düşünüyorum. Umarım iyisindir ve "
        "okulda her şey yolundadır. Büyükannen sana çok öpücük gönderiyor ve hâlâ futbol "
        "oynamayı sevip sevmediğini soruyor. Geçen hafta sonu parka gittim ve birlikte "
        "salıncakta sallandığımız günleri hatırladım. Annenin sözünü dinle ve uslu ol. Seni çok "
        "seviyorum ve mektubunu sabırsızlıkla bekliyorum. Baban"
    ),
}
SERVED = {
    "en": (
        "Dear Sam, I hope you are well and having a good time at school. I miss you lots and "
        "think about you every day. Nan says hello and wants to know if you are still enjoying "
        "football. Last weekend I went to the seaside and saw a seal swimming near the rocks. Be "
        "good for your mum and remember to brush your teeth. I love you very much and I am "
        "looking forward to your next letter. Love from Dad"
    ),
    "en-informal": (
        "Hiya Sam!! Hope ur ok and school isnt too boring lol. Miss you loads buddy. Got a new "
        "puppy called Biscuit and he chewed my trainers already haha. Nan says hi and sends a "
        "massive hug. Be good for your mum ok. Love you to the moon and back, Dad xx"
    ),
    "cy": (
        "Annwyl Cari, gobeithio dy fod di'n iawn ac yn cael hwyl yn yr ysgol. Dw i'n gweld dy "
        "eisiau di'n fawr iawn ac yn meddwl amdanat ti bob dydd. Mae Nain yn dweud helo ac "
        "eisiau gwybod wyt ti'n dal i fwynhau canu yn y côr. Y penwythnos diwethaf es i am dro "
        "ar lan y môr a gwelais i forlo yn nofio. Bydd yn dda i dy fam a chofia frwsio dy "
        "ddannedd. Dw i'n dy garu di'n fawr iawn ac yn edrych ymlaen at dy lythyr nesaf. "
        "Cariad mawr, Dad"
    ),
}
EXPECTED_NAMES = {
    "pl": "Polish",
    "ro": "Romanian",
    "pt": "Portuguese",
    "lt": "Lithuanian",
    "ar": "Arabic",
    "ur": "Urdu",
    "es": "Spanish",
    "fr": "French",
    "uk": "Ukrainian",
    "tr": "Turkish",
}
# Three words, or a few more: too little to tell Polish from Slovak or Welsh from Breton.
SHORT_TEXTS = ["Kocham cię, tato", "Love you Sam", "Dw i'n dy garu di", "Te iubesc mult, tata"]


@pytest.fixture(scope="module")
def detector() -> LanguageDetector:
    # One for the module: loading the profiles is the slow part.
    return LanguageDetector()


@pytest.mark.parametrize("code", sorted(LETTERS))
def test_a_letter_in_another_language_is_named_in_english(
    detector: LanguageDetector, code: str
) -> None:
    found = detector.detect(LETTERS[code])
    assert found is not None
    assert (found.code, found.name) == (code, EXPECTED_NAMES[code])
    assert not found.served


@pytest.mark.parametrize("kind", sorted(SERVED))
def test_english_and_welsh_letters_need_no_note(detector: LanguageDetector, kind: str) -> None:
    found = detector.detect(SERVED[kind])
    assert found is not None
    assert found.code == kind.split("-")[0]
    assert found.served


@pytest.mark.parametrize("text", SHORT_TEXTS)
def test_a_few_words_give_no_guess(detector: LanguageDetector, text: str) -> None:
    assert detector.detect(text) is None


def test_a_long_text_of_one_word_again_and_again_gives_no_guess(
    detector: LanguageDetector,
) -> None:
    # Long enough in letters, but langdetect alone calls this Somali, and "Sam Sam…" Indonesian.
    assert detector.detect("ha " * 30) is None
    assert detector.detect("Sam " * 20) is None
    assert detector.detect("xx ❤️❤️❤️ 😘😘😘 12345 !!! ??? 07700 900123 " * 3) is None


def test_a_detector_unsure_of_its_best_language_says_nothing() -> None:
    # No real language is more likely than certain: the threshold is what decides.
    assert LanguageDetector(confidence=1.01).detect(LETTERS["pl"]) is None


def test_every_letter_gets_the_same_answer_from_every_fresh_detector() -> None:
    texts = [*LETTERS.values(), *SERVED.values(), *SHORT_TEXTS]
    first = [LanguageDetector().detect(text) for text in texts]
    second = LanguageDetector()
    for _ in range(3):
        assert [second.detect(text) for text in texts] == first


def test_detection_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the language detector tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    found = LanguageDetector().detect(LETTERS["lt"])
    assert found is not None and found.name == "Lithuanian"


def test_every_language_the_package_ships_has_an_english_name() -> None:
    # A newer langdetect with a profile we cannot name would otherwise be left out quietly.
    shipped = {entry.name for entry in (resources.files("langdetect") / "profiles").iterdir()}
    assert shipped == set(LANGUAGE_NAMES)


async def _moderation_page(client: TestClient, headers: dict[str, str], item_id: str) -> str:
    page = await client.get(f"/staff/moderation/items/{item_id}", headers=headers)
    html = await page.text()
    assert page.status == 200, html
    return without_random_tokens(html)


async def test_staff_see_that_a_polish_letter_seems_to_be_in_polish(client: TestClient) -> None:
    world = await make_world(client)
    status, sent = await send_letter(client, world, LETTERS["pl"])
    assert status == 201, sent
    html = await _moderation_page(client, world.staff.headers(Accept="text/html"), sent["item_id"])
    assert "This letter seems to be in Polish." in html
    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    assert view["language"] == {"code": "pl", "name": "Polish", "served": False}
    # Stored sealed with the family key, not as a readable code.
    async with world.app[SESSIONMAKER]() as session:
        part = await session.scalar(
            select(ItemPart).where(
                ItemPart.item_id == uuid.UUID(sent["item_id"]), ItemPart.kind == PartKind.TEXT
            )
        )
        assert part is not None and part.language_sealed is not None
        assert part.language_sealed != b"pl"
        opened = await world.app[KEYRING].open_for_family(
            session, world.family_id, part.language_sealed, LANGUAGE_PURPOSE
        )
    assert opened == b"pl"


async def test_an_english_letter_shows_no_language_note(client: TestClient) -> None:
    world = await make_world(client)
    status, sent = await send_letter(client, world, SERVED["en"])
    assert status == 201, sent
    html = await _moderation_page(client, world.staff.headers(Accept="text/html"), sent["item_id"])
    assert "Dear Sam, I hope you are well" in html
    assert "seems to be in" not in html
    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    assert view["language"] == {"code": "en", "name": "English", "served": True}


async def test_a_welsh_letter_shows_no_language_note(client: TestClient) -> None:
    world = await make_world(client)
    status, sent = await send_letter(client, world, SERVED["cy"])
    assert status == 201, sent
    html = await _moderation_page(client, world.staff.headers(Accept="text/html"), sent["item_id"])
    assert "seems to be in" not in html


async def test_a_short_letter_gets_no_guess_on_the_moderation_page(client: TestClient) -> None:
    world = await make_world(client)
    status, sent = await send_letter(client, world, "Kocham cię, tato")
    assert status == 201, sent
    html = await _moderation_page(client, world.staff.headers(Accept="text/html"), sent["item_id"])
    assert "Kocham cię, tato" in html
    assert "seems to be in" not in html
    view = await (
        await client.get(f"/api/moderation/items/{sent['item_id']}", headers=world.staff.headers())
    ).json()
    assert view["language"] is None
