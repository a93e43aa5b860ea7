"""Letters in other languages for the scanner: details written the way a speaker would, and none.

A family may write in Welsh, Polish, Romanian, Spanish, Portuguese, Arabic, Urdu or Lithuanian. A
phone number, postcode, e-mail, web address or handle in such a letter is as dangerous as in an
English one, and a speaker writes it with their own words around it: "mój numer to ...", "papa
arroba gmail punto com", "dodaj mnie na snapie", digits in Arabic script, a WhatsApp written
"واتساب". Each planted letter marks its detail with ⟦ and ⟧; ``planted()`` takes the marks out and
keeps where the detail is. ``ordinary()`` are letters in the same languages with no detail at all:
dates, times, scores, prices, school years and counting, which must not be flagged.

The Welsh street letters (``welsh_addresses()``) plant addresses the way Welsh is written: the
street word first ("12 Heol y Parc"), "Rhif 5", "Fflat 3", a house called "Tŷ Gwyn", with and
without the circumflex, and mutated after "yn", "ym", "ar" and "i". ``welsh_ordinary()`` uses the
same words as everyday words and names: "y maes parcio", "Bryn" the friend, "i'r parc", "ar y
ffordd adref", "Tŷ Nain". ``welsh_meetings()`` propose a meeting or ask where the child lives, in
Welsh; ``welsh_meetings_ordinary()`` talk of the centre and the child's school without doing so.

``held_out()`` and ``held_out_ordinary()`` were written after the scanner was changed for the rest
and were not used to change it: they are the fairer measure of letters nobody has seen.

The letters are our own, written for these tests; a real letter will find gaps they do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.letterbox.scanner import Category, Hit

OPEN, CLOSE = "⟦", "⟧"


@dataclass(frozen=True)
class LanguagePlanted:
    """A letter with one detail: ``value`` is at ``text[start:start+len(value)]``."""

    language: str
    category: Category
    text: str
    value: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.value)


@dataclass(frozen=True)
class LanguageOrdinary:
    language: str
    text: str


def _plant(language: str, category: Category, marked: str) -> LanguagePlanted:
    start = marked.index(OPEN)
    end = marked.index(CLOSE)
    value = marked[start + 1 : end]
    text = marked[:start] + value + marked[end + 1 :]
    return LanguagePlanted(language, category, text, value, start)


P, E, U, C, S, A = (
    Category.PHONE,
    Category.EMAIL,
    Category.URL,
    Category.POSTCODE,
    Category.SOCIAL,
    Category.ADDRESS,
)

_PLANTED: tuple[tuple[str, Category, str], ...] = (
    # --- Welsh ---
    ("cy", P, "Annwyl Cerys, dyma fy rhif ffôn newydd: ⟦07700 900 461⟧. Cariad mawr, Dad"),
    ("cy", P, "Helo Rhys! Ffonia fi ar ⟦+44 7700 900 872⟧ os wyt ti eisiau. Mam x"),
    ("cy", P, "Fy rhif i yw ⟦dim saith saith dim dim naw dim dim pedwar pump chwech⟧, paid dweud."),
    ("cy", E, "Anfon e-bost ata i: ⟦dad.jones at gmail dot com⟧ a bydda i'n ateb."),
    ("cy", E, "Fy e-bost yw ⟦mam_cerys@hotmail.co.uk⟧, cariad."),
    ("cy", E, "Ysgrifenna at ⟦gareth.evans malwen outlook pwynt com⟧ pan fyddi di'n gallu."),
    ("cy", U, "Edrych ar fy ngwefan ⟦www.lluniau-dad.cymru⟧ i weld y lluniau."),
    ("cy", U, "Mae'r lluniau ar ⟦lluniaudad pwynt com⟧ nawr."),
    ("cy", C, "Ein cod post newydd yw ⟦CF11 9LJ⟧ felly galli di anfon cerdyn."),
    ("cy", C, "Rydyn ni'n byw ger ⟦SA1⟧ nawr, wrth y môr."),
    ("cy", S, "Ychwanega fi ar Snapchat: ⟦cerys_dad77⟧ x"),
    ("cy", S, "Fy snap i yw ⟦rhys_2014⟧, anfon neges!"),
    ("cy", S, "Dilyna fi ar insta ⟦@mam.cymraeg⟧ os wyt ti'n gallu."),
    # --- Polish ---
    ("pl", P, "Kochana Zosiu, mój numer to ⟦0 7700 900 123⟧, zadzwoń w sobotę. Tata"),
    ("pl", P, "Cześć Kacper! Zadzwoń do mnie: ⟦+48 512 345 678⟧. Mama"),
    (
        "pl",
        P,
        "Mój nowy numer: ⟦zero siedem siedem zero zero dziewięć zero zero jeden dwa trzy⟧.",
    ),
    ("pl", P, "Numer komórki to ⟦512-345-678⟧, pisz kiedy chcesz."),
    ("pl", E, "Napisz do mnie maila: ⟦tomasz.kowalski małpa gmail kropka com⟧."),
    ("pl", E, "Mój email to ⟦kasia_mama@wp.pl⟧, pozdrawiam."),
    ("pl", E, "Pisz na ⟦piotr.nowak malpa onet kropka pl⟧ jak będziesz mógł."),
    ("pl", U, "Zdjęcia są na stronie ⟦www.zdjecia-taty.pl⟧, zobacz!"),
    ("pl", U, "Wejdź na ⟦mojezdjecia kropka pl⟧ i zobacz wakacje."),
    ("pl", C, "Nasz kod pocztowy to ⟦LS6 1AB⟧, możesz wysłać kartkę."),
    ("pl", C, "Mieszkamy teraz w ⟦LS6⟧, blisko parku."),
    ("pl", S, "Dodaj mnie na snapie: ⟦kasia_99⟧ buziaki"),
    ("pl", S, "Mój insta to ⟦tomek_2013⟧, obserwuj mnie."),
    ("pl", S, "Napisz do mnie na ⟦WhatsAppie⟧, tak będzie łatwiej."),
    ("pl", S, "Ściągnij ⟦Telegrama⟧ i napisz do mnie."),
    # --- Romanian ---
    ("ro", P, "Dragă Andrei, numărul meu este ⟦07700 900 345⟧, sună-mă oricând. Tata"),
    ("ro", P, "Sună-mă la ⟦0040 721 234 567⟧ duminică."),
    ("ro", P, "Numărul meu: ⟦zero șapte șapte zero zero nouă zero zero trei patru cinci⟧."),
    ("ro", E, "Scrie-mi pe ⟦andrei.popescu arond yahoo punct com⟧ te rog."),
    ("ro", E, "Emailul meu e ⟦mama.ioana@yahoo.ro⟧, scrie-mi."),
    ("ro", E, "Adresa mea de mail: ⟦ion_tata at gmail punct com⟧."),
    ("ro", U, "Intră pe ⟦www.pozele-noastre.ro⟧ să vezi pozele."),
    ("ro", U, "Am pus pozele pe ⟦pozeletata punct ro⟧, uită-te."),
    ("ro", C, "Codul poștal este ⟦B12 9QT⟧, trimite-mi o felicitare."),
    ("ro", C, "Acum stăm lângă ⟦NW10⟧, e frumos."),
    ("ro", S, "Adaugă-mă pe insta: ⟦andrei_ro07⟧"),
    ("ro", S, "Instagramul meu e ⟦bianca_2012⟧, dă-mi follow."),
    ("ro", S, "Scrie-mi pe ⟦WhatsApp-ul⟧ mamei, e mai ușor."),
    # --- Spanish ---
    ("es", P, "Querida Lucía, mi número es el ⟦07700 900 234⟧, llámame. Papá"),
    ("es", P, "Llámame al ⟦+34 612 345 678⟧ cuando puedas."),
    (
        "es",
        P,
        "Mi móvil: ⟦cero siete siete cero cero nueve cero cero uno dos tres⟧, no lo pierdas.",
    ),
    ("es", E, "Escríbeme a ⟦papa arroba gmail punto com⟧, te contesto enseguida."),
    ("es", E, "Mi correo es ⟦mama.lucia@hotmail.es⟧, un beso."),
    ("es", E, "Mándame un correo a ⟦carlos punto garcia arroba outlook punto com⟧."),
    ("es", U, "Mira las fotos en ⟦www.fotos-de-papa.es⟧, ¡te van a gustar!"),
    ("es", U, "Las fotos están en ⟦fotospapa punto com⟧."),
    ("es", C, "Nuestro código postal es ⟦M14 5TQ⟧, mándame una carta."),
    ("es", C, "Ahora vivimos en ⟦M14⟧, cerca del parque."),
    ("es", S, "Agrégame en insta: ⟦lucia_22⟧ besos"),
    ("es", S, "Mi insta es ⟦sara_22⟧, sígueme."),
    ("es", S, "Mándame un mensaje por ⟦guasap⟧ cuando puedas."),
    # --- Portuguese ---
    ("pt", P, "Querida Beatriz, o meu número é ⟦07700 900 567⟧, liga-me. Pai"),
    ("pt", P, "Me liga no ⟦+351 912 345 678⟧ no domingo."),
    ("pt", P, "O meu telemóvel é ⟦zero sete sete zero zero nove zero zero meia cinco quatro⟧."),
    ("pt", E, "Manda-me um email para ⟦joao.silva arroba gmail ponto com⟧."),
    ("pt", E, "O meu email é ⟦mae.beatriz@sapo.pt⟧, beijinhos."),
    ("pt", E, "Escreve para ⟦pedro_pai arroba hotmail ponto com⟧ quando puderes."),
    ("pt", U, "Vê as fotos em ⟦www.fotos-do-pai.pt⟧, estão lindas."),
    ("pt", U, "Pus as fotos em ⟦fotosdopai ponto com⟧."),
    ("pt", C, "O nosso código postal é ⟦BS5 6XJ⟧, manda um postal."),
    ("pt", C, "Agora moramos perto de ⟦BS5⟧, ao pé do parque."),
    ("pt", S, "Me adiciona no insta: ⟦bia_2013⟧ beijos"),
    ("pt", S, "Meu insta é ⟦joao.pt⟧, me segue."),
    ("pt", S, "Me chama no ⟦zap⟧ quando puder."),
    # --- Arabic ---
    ("ar", P, "حبيبتي زينب، رقمي الجديد ⟦٠٧٧٠٠ ٩٠٠ ٦٧٨⟧، اتصلي بي. بابا"),
    ("ar", P, "اتصل بي على ⟦+966 50 123 4567⟧ يوم السبت."),
    ("ar", P, "رقم الجوال ⟦صفر سبعة سبعة صفر صفر تسعة صفر صفر واحد اثنين ثلاثة⟧."),
    ("ar", E, "راسلني على الإيميل ⟦ahmed.k92@gmail.com⟧ يا حبيبي."),
    ("ar", E, "ايميلي ⟦ahmed.k92 at gmail dot com⟧ اكتب لي."),
    ("ar", E, "بريدي ⟦baba_zainab @ hotmail . com⟧ اكتبي لي."),
    ("ar", U, "شوف الصور على ⟦www.suwar-baba.com⟧ يا حبيبي."),
    ("ar", U, "الصور في ⟦suwarbaba.net⟧ الآن."),
    ("ar", C, "الرمز البريدي الجديد ⟦E1 6AN⟧، أرسل لي بطاقة."),
    ("ar", S, "أضفني على سناب: ⟦zainab_baba⟧"),
    ("ar", S, "كلمني على ⟦الواتساب⟧ أحسن."),
    ("ar", S, "حسابي على انستا ⟦@baba.ahmed⟧ تابعني."),
    # --- Urdu ---
    ("ur", P, "پیاری عائشہ، میرا نمبر ⟦۰۷۷۰۰ ۹۰۰ ۷۸۹⟧ ہے، مجھے فون کرنا۔ ابو"),
    ("ur", P, "مجھے ⟦+92 300 1234567⟧ پر کال کرو۔"),
    ("ur", P, "میرا موبائل نمبر ⟦صفر سات سات صفر صفر نو صفر صفر ایک دو تین⟧ ہے۔"),
    ("ur", E, "میری ای میل ⟦abbu.ayesha@gmail.com⟧ ہے۔"),
    ("ur", E, "ای میل کرو ⟦imran_k at yahoo dot com⟧ پر۔"),
    ("ur", U, "تصویریں ⟦www.abbu-photos.co.uk⟧ پر دیکھو۔"),
    ("ur", C, "ہمارا پوسٹ کوڈ ⟦BD3 9AA⟧ ہے، کارڈ بھیجنا۔"),
    ("ur", C, "ہم اب ⟦BD3⟧ میں رہتے ہیں۔"),
    ("ur", S, "میرا سنیپ ⟦ayesha_2012⟧ ہے، ایڈ کرو۔"),
    ("ur", S, "مجھے ⟦واٹس ایپ⟧ پر میسج کرو۔"),
    ("ur", S, "انسٹا پر مجھے فالو کرو ⟦@imran.abbu⟧"),
    # --- Lithuanian ---
    ("lt", P, "Mieloji Austėja, mano numeris ⟦07700 900 890⟧, paskambink. Tėtis"),
    ("lt", P, "Paskambink man ⟦+370 612 34567⟧ sekmadienį."),
    ("lt", E, "Parašyk man: ⟦tetis.jonas eta gmail taškas com⟧."),
    ("lt", E, "Mano el. paštas ⟦mama.egle@gmail.com⟧, parašyk."),
    ("lt", U, "Nuotraukos yra ⟦www.tecio-nuotraukos.lt⟧, pažiūrėk."),
    ("lt", C, "Mūsų pašto kodas ⟦PE1 2AB⟧, atsiųsk atviruką."),
    ("lt", S, "Pridėk mane instagrame: ⟦austeja_2014⟧"),
    ("lt", S, "Parašyk man ⟦WhatsAppe⟧."),
)

_ORDINARY: tuple[tuple[str, str], ...] = (
    (
        "cy",
        "Annwyl Cerys, roedd hi'n braf dy weld di ddydd Sadwrn. Sgoriaist ti 3 gôl! "
        "Mae'r ci yn cysgu o flaen y tân. Cariad mawr, Dad x",
    ),
    (
        "cy",
        "Helo Dad, es i i'r parc gyda Bryn ar ôl ysgol. Roedd y maes parcio yn llawn achos "
        "roedd gêm rygbi. Dw i ym Mlwyddyn 5 nawr. Cariad, Rhys",
    ),
    (
        "cy",
        "Dw i'n gallu cyfrif i ddeg: un, dau, tri, pedwar, pump, chwech, saith, wyth, naw, deg! "
        "Ces i 20 allan o 20 yn y prawf sillafu.",
    ),
    (
        "cy",
        "Aethon ni i Dŷ Nain ddydd Sul ac roedd hi'n bwrw glaw. Ar y ffordd adref gwelon ni "
        "ddefaid yn y cae. Mae'r trên yn gadael am 3.15.",
    ),
    (
        "cy",
        "Mae Bryn yn ffrind da. Chwaraeon ni bêl-droed ar y maes chwarae a enillon ni 4-2. "
        "Wela i di yn y ganolfan ddydd Sadwrn nesaf.",
    ),
    (
        "pl",
        "Kochana Zosiu, w sobotę było super! Strzeliłaś 3 gole. Babcia piecze ciasto na "
        "niedzielę. Kocham Cię, Tata",
    ),
    (
        "pl",
        "Cześć Tato, jestem teraz w 5 klasie. Dostałem 6 z matematyki i 5 z polskiego. "
        "Umiem liczyć: jeden, dwa, trzy, cztery, pięć! Kacper",
    ),
    (
        "pl",
        "Pojechaliśmy do parku 12.05 i było bardzo ciepło. Mecz skończył się 2:1. Bilet "
        "kosztował 5 funtów. Buziaki!",
    ),
    (
        "pl",
        "Mój numer w drużynie to 7 i gram na obronie. Do zobaczenia w centrum w sobotę o 10.",
    ),
    (
        "ro",
        "Dragă Andrei, mi-a plăcut mult sâmbătă. Ai înscris 2 goluri! Bunica face "
        "cozonac. Te iubesc, Tata",
    ),
    (
        "ro",
        "Bună mami, sunt în clasa a 4-a acum. Am luat 10 la matematică și 9 la română. Știu să "
        "număr: unu, doi, trei, patru, cinci!",
    ),
    (
        "ro",
        "Am fost în parc pe 12.05 și a fost cald. Meciul s-a terminat 3-1. Ne vedem la centru "
        "la ora 10.",
    ),
    (
        "es",
        "Querida Lucía, el sábado fue genial. ¡Marcaste 3 goles! La abuela hace tortilla los "
        "domingos. Te quiero mucho, Papá",
    ),
    (
        "es",
        "Hola papá, ya estoy en 4º de primaria. Saqué un 10 en mates. Sé contar: uno, dos, "
        "tres, cuatro, cinco, seis, siete, ocho, nueve, diez.",
    ),
    (
        "es",
        "Nos vemos en el centro el sábado a las tres en punto de la tarde. Fuimos al parque el "
        "12/05 y el partido acabó 2-1. El helado costó 3 libras.",
    ),
    (
        "es",
        "Tengo dos o tres amigos nuevos. Punto y aparte: ¡me encanta el cole!",
    ),
    (
        "pt",
        "Querida Beatriz, no sábado foi ótimo. Marcaste 2 golos! A avó fez bolo de "
        "chocolate. Um beijinho grande, Pai",
    ),
    (
        "pt",
        "Olá mãe, estou no 5.º ano. Tive 5 a matemática. Sei contar: um, dois, três, quatro, "
        "cinco, seis, sete, oito, nove, dez!",
    ),
    (
        "pt",
        "Fomos ao parque no dia 12/05 e fez calor. O jogo acabou 3-1. Vemo-nos no centro no "
        "sábado às 10. O ponto de autocarro fica ao pé da escola.",
    ),
    (
        "ar",
        "حبيبتي زينب، استمتعت كثيرا يوم السبت. سجلت ٣ أهداف! جدتك تخبز الكعك. أحبك، بابا",
    ),
    (
        "ar",
        "مرحبا بابا، أنا الآن في الصف الخامس. حصلت على ١٠ من ١٠ في الرياضيات. أعرف العد: "
        "واحد، اثنان، ثلاثة، أربعة، خمسة.",
    ),
    (
        "ar",
        "ذهبنا إلى الحديقة يوم ١٢/٥ وكان الجو حارا. انتهت المباراة ٢-١. نراك في المركز يوم "
        "السبت الساعة ١٠.",
    ),
    (
        "ur",
        "پیاری عائشہ، ہفتے کو بہت مزہ آیا۔ تم نے ۳ گول کیے! دادی نے کیک بنایا۔ بہت پیار، ابو",
    ),
    (
        "ur",
        "السلام علیکم ابو، میں اب پانچویں جماعت میں ہوں۔ ریاضی میں ۱۰ میں سے ۹ نمبر آئے۔ "
        "مجھے گنتی آتی ہے: ایک، دو، تین، چار، پانچ۔",
    ),
    (
        "ur",
        "ہم ۱۲ مئی کو پارک گئے۔ میچ ۲-۱ سے ختم ہوا۔ ہفتے کو سینٹر میں ملیں گے، دس بجے۔ "
        "مجھے دو تین نئی کتابیں ملیں۔",
    ),
    (
        "lt",
        "Mieloji Austėja, šeštadienį buvo labai smagu. Įmušei 2 įvarčius! Močiutė kepa "
        "pyragą. Myliu tave, Tėtis",
    ),
    (
        "lt",
        "Labas tėti, dabar esu 4 klasėje. Gavau 10 iš matematikos. Moku skaičiuoti: vienas, "
        "du, trys, keturi, penki!",
    ),
)

_WELSH_ADDRESSES: tuple[str, ...] = (
    "Rydyn ni'n byw yn ⟦12 Heol y Parc⟧ nawr.",
    "Ein cyfeiriad newydd yw ⟦Rhif 5, Stryd Fawr⟧.",
    "Rydyn ni mewn ⟦Fflat 3⟧ uwchben y siop.",
    "Rydyn ni'n byw yn ⟦fflat rhif 7⟧ nawr.",
    "Mae'r tŷ newydd o'r enw ⟦Bryn Awel⟧, mae'n hyfryd.",
    "Enw'r tŷ yw ⟦Tŷ Gwyn⟧ ac mae ganddo ardd fawr.",
    "Anfon y parsel i ⟦14 Sgwâr y Farchnad⟧ plis.",
    "Anfon y parsel i ⟦14 Sgwar y Farchnad⟧ plis.",
    "Rydyn ni wedi symud i ⟦7 Llwyn Onn⟧.",
    "Rydyn ni'n byw yn ⟦3 Cae Mawr⟧, wrth y fferm.",
    "Y cyfeiriad yw ⟦22 Parc Gwyn⟧.",
    "Dere i ⟦9 Bryn Hyfryd⟧ rywbryd.",
    "Rydyn ni yn ⟦5 Y Stryd Fawr⟧ uwchben y caffi.",
    "Rydyn ni'n byw ar ⟦Heol y Felin⟧ nawr.",
    "Dw i'n byw ar ⟦Stryd y Bont⟧ gyda Mam.",
    "Ein cyfeiriad newydd yw ⟦Lon Goed⟧.",
    "Rydyn ni'n byw ar ⟦Lôn Las⟧ nawr.",
    "Rydyn ni yn ⟦Rhodfa'r Môr⟧, wrth y traeth.",
    "Rydyn ni'n byw yn ⟦Cilgant y Dderwen⟧.",
    "Symudon ni i ⟦Deras y Capel⟧ ddydd Mawrth.",
    "Rydyn ni'n byw ym ⟦Mharc y Dderwen⟧ nawr.",
    "Rydyn ni'n byw yng ⟦Nghae Ffynnon⟧ nawr.",
    "Symudon ni i ⟦Faes y Coed⟧ ddoe.",
    "Rydyn ni'n byw yn ⟦Rhes y Capel⟧.",
    "Rydyn ni'n byw yn ⟦Maes y Coed⟧ nawr.",
    "Rydyn ni'n byw yn ⟦rhif 8⟧ nawr, y tŷ â'r drws coch.",
    "Rydyn ni'n byw yn ⟦Llwyn Onn⟧, ger yr ysgol.",
    "Ysgrifenna ata i yn ⟦4 Clos yr Eglwys⟧.",
    "Mae Nain yn byw yn ⟦21 Ffordd Las⟧.",
    "Rydyn ni yn ⟦Heol-y-Felin⟧ nawr.",
    "Ein cyfeiriad yw ⟦10 Maes-y-coed⟧.",
    "Rydyn ni'n byw yn ⟦Nhŷ Gwyn⟧ nawr.",
    "⟦Tŷ Gwyn⟧ yw ein cartref newydd.",
    "Ein cyfeiriad: ⟦Maes y Coed⟧, ger y capel.",
    "Anfon e at ⟦12 heol y parc⟧ plis.",
)

_WELSH_ORDINARY: tuple[str, ...] = (
    "Aethon ni i'r parc ar ôl ysgol ac roedd Bryn yno.",
    "Chwaraeodd Bryn gyda fi yn y cae.",
    "Mae Bryn yn ffrind da ac mae e'n byw yn agos.",
    "Roedd y maes parcio yn llawn ddydd Sadwrn.",
    "Aethon ni i Faes y Sioe i weld y defaid.",
    "Ar y ffordd adref gwelon ni enfys.",
    "Ffordd dda o ddysgu yw darllen bob nos.",
    "Maes chwarae newydd sydd yn yr ysgol.",
    "Tŷ Nain yw'r lle gorau yn y byd.",
    "Tŷ bach y ganolfan sydd wrth y drws.",
    "Ty came to my party and we had 5 cakes.",
    "Es i i dŷ Dad ddydd Sul.",
    "Mae 2 Bryn yn fy nosbarth i.",
    "Enillon ni 3 gêm yn y parc.",
    "Roedd 30 o blant yn y cae chwarae.",
    "Mae Nain yn byw ar fferm fawr ger y môr.",
    "Rydyn ni'n byw yn agos at y parc nawr.",
    "Aethon ni i'r Stryd Fawr i brynu esgidiau.",
    "Es i i Barc y Rhath gyda Nain ac roedd hwyaid ar y llyn.",
    "Mae Maes yr Eisteddfod yn fawr iawn eleni.",
    "Rydyn ni'n byw yn Aberystwyth nawr, wrth y môr.",
    "Cawson ni 2 gacen yn Nhŷ Nain.",
    "Clos iawn ydyn ni, fi a Bryn.",
    "Llwyn o rosod sydd yn yr ardd.",
    "I watched YouTube with Ty Jones and Ty Smith.",
    "Mae 2 ffordd y gallwn ni fynd i'r ysgol.",
)


# Written after the scanner was changed for the letters above, and not used to change it: how the
# scanner does on phrasings it was not fitted to.
_HELD_OUT: tuple[tuple[str, Category, str], ...] = (
    ("cy", P, "Cofia, os oes angen unrhyw beth tecstia fi: ⟦07700 900 147⟧. Caru ti, Mam"),
    ("cy", E, "Cyfeiriad e-bost Dad yw ⟦huw.pritchard@btinternet.com⟧."),
    ("cy", U, "Mae fideo o'r gêm ar ⟦https://lluniau.example.cymru/gem⟧ i ti."),
    ("cy", C, "Dyma'r cod post: ⟦LL57 2DG⟧."),
    ("cy", S, "Dw i ar ⟦TikTok⟧ nawr, fy enw yw mam_llyn."),
    ("cy", A, "Rydyn ni wedi symud i ⟦23 Heol Maes y Dre⟧."),
    ("cy", A, "Ein cyfeiriad newydd: ⟦Fflat 2, Tŷ'r Felin⟧."),
    ("cy", A, "Mae Nain wedi symud i ⟦Gilgant y Wennol⟧."),
    ("cy", A, "Rydyn ni'n byw ar ⟦Ffordd Penrhos⟧ nawr."),
    ("pl", P, "Jakby co, dzwoń: ⟦07700 900 258⟧. Tata"),
    ("pl", E, "Adres mailowy: ⟦zosia.tata@interia.pl⟧"),
    ("pl", U, "Wrzuciłem zdjęcia na ⟦facebook.com/tata.kacpra⟧."),
    ("pl", C, "Nowy adres ma kod ⟦LS11 5PQ⟧."),
    ("pl", S, "Mam nowe konto na insta: ⟦@tata_kacpra⟧"),
    ("pl", S, "Napisz na ⟦messengerze⟧ jak mama nie widzi."),
    ("ro", P, "Dacă ai nevoie, telefonul meu e ⟦07700 900 369⟧."),
    ("ro", E, "Trimite-mi un mail la ⟦tata.andrei@gmail.com⟧."),
    ("ro", U, "Uite pozele: ⟦www.albumul-nostru.ro/vara⟧"),
    ("ro", C, "Noi stăm acum în ⟦L8⟧, aproape de școală."),
    ("ro", S, "Hai pe ⟦Telegram⟧, acolo putem vorbi."),
    ("es", P, "Si necesitas algo, mi teléfono es ⟦07700 900 471⟧."),
    ("es", E, "Mi email nuevo: ⟦papa.lucia arroba yahoo punto es⟧."),
    ("es", U, "Sube las fotos a ⟦www.fotosfamilia.com⟧, porfa."),
    ("es", C, "La casa nueva está en ⟦CF10 3AT⟧."),
    ("es", S, "Sígueme en TikTok, soy ⟦@papa_lucia⟧."),
    ("es", S, "Descárgate ⟦Telegram⟧ y hablamos allí."),
    ("pt", P, "Qualquer coisa, liga para ⟦07700 900 582⟧."),
    ("pt", E, "O email da mãe é ⟦mae.bia arroba outlook ponto pt⟧."),
    ("pt", U, "As fotos estão no ⟦instagram.com/pai.da.bia⟧."),
    ("pt", C, "Estamos a morar em ⟦G41⟧ agora."),
    ("pt", S, "Baixa o ⟦Telegram⟧ para falarmos."),
    ("ar", P, "إذا احتجت شيئا اتصل على ⟦07700 900 693⟧."),
    ("ar", E, "ايميل ماما ⟦mama.zainab@outlook.com⟧."),
    ("ar", U, "الفيديو على ⟦youtube.com/@baba-ahmed⟧."),
    ("ar", S, "حمّل ⟦تيليجرام⟧ ونتكلم هناك."),
    ("ur", P, "کوئی بات ہو تو اس نمبر پر فون کرنا: ⟦07700 900 714⟧۔"),
    ("ur", E, "امی کی ای میل ⟦ammi.ayesha@hotmail.co.uk⟧ ہے۔"),
    ("ur", S, "میرا ⟦انسٹاگرام⟧ اکاؤنٹ دیکھو۔"),
    ("lt", P, "Jei reikės, skambink ⟦07700 900 825⟧."),
    ("lt", U, "Nuotraukos ⟦www.musu-albumas.lt⟧."),
    ("lt", C, "Dabar gyvename netoli ⟦NG7⟧."),
)

_HELD_OUT_ORDINARY: tuple[tuple[str, str], ...] = (
    ("cy", "Bydd y gêm yn dechrau am 2.30 ar gae'r ysgol. Mae Bryn a fi yn y tîm cyntaf."),
    ("cy", "Aethon ni am dro ar hyd y llwybr i ben y bryn a gwelon ni 12 merlen."),
    ("cy", "Roedd Plas Newydd yn hyfryd a chawson ni hufen iâ ar Lôn y Traeth."),
    ("pl", "Na urodziny dostałem 3 książki i klocki Lego. W szkole mamy 25 dzieci w klasie."),
    ("pl", "Gram w piłkę w drużynie U10, w sobotę wygraliśmy 4:0. Kropka!"),
    ("ro", "Am citit 2 cărți săptămâna asta. La înot am făcut 8 bazine."),
    ("es", "El punto es que te echo de menos. Nos vemos el día 14 a las 10 en el centro."),
    ("es", "En el cole somos 28 y mi profe se llama Ana. Tengo 9 años."),
    ("pt", "Ganhámos 3-2 no domingo! O ponto alto foi o golo do Rui."),
    ("pt", "Tenho 8 anos e estou no 3.º ano. Li 5 livros este mês."),
    ("ar", "قرأت ٣ كتب هذا الأسبوع وسبحت ٨ مرات في المسبح."),
    ("ur", "میں نے اس ہفتے ۳ کتابیں پڑھیں اور ۸ دفعہ تیراکی کی۔"),
    ("lt", "Perskaičiau 3 knygas ir plaukiau 8 baseinus."),
    ("ro", "Punctul meu de vedere e că pizza e cea mai bună."),
)


_WELSH_MEETINGS: tuple[str, ...] = (
    "Dere i ⟦gwrdd â fi tu allan i'r Co-op ddydd Sadwrn⟧.",
    "⟦Gawn ni gwrdd yn y parc ar ôl ysgol⟧?",
    "⟦Wela i di tu allan i'r llyfrgell nos Wener⟧.",
    "⟦Ble wyt ti'n byw nawr⟧?",
    "⟦Beth yw dy gyfeiriad newydd⟧?",
    "⟦Pa ysgol wyt ti'n mynd iddi⟧?",
    "⟦Anfona dy gyfeiriad ata i⟧, cariad.",
    "Bydda i ⟦tu allan i dy ysgol ddydd Llun⟧.",
    "⟦Bydda i wrth dy dŷ ar ôl ysgol⟧.",
)

_WELSH_MEETINGS_ORDINARY: tuple[str, ...] = (
    "Wela i di yn y ganolfan ddydd Sadwrn.",
    "Methu aros i gwrdd â ti yn y ganolfan.",
    "Sut mae pethau yn dy ysgol newydd?",
    "Roedd hi'n braf cwrdd â dy athrawes.",
    "Mae dy ysgol di'n edrych yn hyfryd yn y llun.",
    "Bydda i'n meddwl amdanat ti yn dy wersi nofio.",
    "Rydw i'n byw gyda Nain nawr.",
)


def planted() -> tuple[LanguagePlanted, ...]:
    """Letters in eight languages, each with one phone number, e-mail, URL, postcode or handle."""
    return tuple(_plant(language, category, marked) for language, category, marked in _PLANTED)


def ordinary() -> tuple[LanguageOrdinary, ...]:
    """Letters in the same languages with no personal detail."""
    return tuple(LanguageOrdinary(language, text) for language, text in _ORDINARY)


def held_out() -> tuple[LanguagePlanted, ...]:
    """Letters written after the scanner's changes and not used to make them."""
    return tuple(_plant(language, category, marked) for language, category, marked in _HELD_OUT)


def held_out_ordinary() -> tuple[LanguageOrdinary, ...]:
    return tuple(LanguageOrdinary(language, text) for language, text in _HELD_OUT_ORDINARY)


def welsh_addresses() -> tuple[LanguagePlanted, ...]:
    """Welsh sentences, each with one address written the Welsh way."""
    return tuple(_plant("cy", A, marked) for marked in _WELSH_ADDRESSES)


def welsh_ordinary() -> tuple[LanguageOrdinary, ...]:
    """Welsh sentences using street words as everyday words and names, with no address."""
    return tuple(LanguageOrdinary("cy", text) for text in _WELSH_ORDINARY)


def caught(item: LanguagePlanted, hits: list[Hit]) -> bool:
    """A hit of the detail's category touches it, and hits cover every letter and digit of it."""
    if not any(
        hit.category is item.category and hit.start < item.end and hit.end > item.start
        for hit in hits
    ):
        return False
    covered = [False] * len(item.value)
    for hit in hits:
        for index in range(max(item.start, hit.start), min(item.end, hit.end)):
            covered[index - item.start] = True
    return all(done or not ch.isalnum() for ch, done in zip(item.value, covered, strict=True))


def welsh_meetings() -> tuple[LanguagePlanted, ...]:
    """Welsh sentences proposing a meeting or asking where the child lives."""
    return tuple(_plant("cy", Category.MEETING, marked) for marked in _WELSH_MEETINGS)


def welsh_meetings_ordinary() -> tuple[LanguageOrdinary, ...]:
    """Welsh sentences about meeting at the centre, the child's school and lessons: no proposal."""
    return tuple(LanguageOrdinary("cy", text) for text in _WELSH_MEETINGS_ORDINARY)
