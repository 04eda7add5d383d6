"""Compact stop-word sets for Finnish, English and Swedish.

Hand-written for this project: function words, pronouns and their common forms, the modal
verbs, and the filler of a chat request ("miten voisimme löytää ...", "how could we find ...").
Both surface forms and lemmas are listed, because words are dropped when either is a stop word.
"""

from __future__ import annotations

_FI = """
ja tai sekä eli vai mutta kuin kun jos että koska vaikka jotta niin myös vielä jo nyt sitten
kuitenkin siis vain vaan aina ei en et emme ette eivät älä olla on ovat oli olivat ollut olleet
olisi olisivat olen olet olemme olette ole ollaan olisiko onko oliko liene lienee
minä sinä hän me te he se ne tämä tuo nämä nuo joka jotka mikä mitkä kuka ketkä kumpi
minun sinun hänen meidän teidän heidän meille meitä meillä meistä minulle minulla minua
sen sitä siitä siihen siinä sille sillä niiden niitä niistä niihin niissä niille niillä
tämän tätä tästä tähän tässä tälle tällä näiden näitä näistä näihin näissä näille
jonka jota josta johon jossa jolle jolla joiden joita joista joihin joissa joille joilla
mitä mistä mihin missä mille millä minkä miten miksi milloin kuinka millainen minkälainen
jokin joku jotain jotakin jonkin jonkun mikään kukaan mitään kenenkään kaikki kaikkia kaikille
muu muut muita muiden oma omat itse sama samat eri jokainen kukin sellainen tällainen
kanssa mukaan kautta aikana avulla lisäksi osalta välillä ilman yli alle noin ehkä
esimerkiksi esim jne mm tms ym ks eg kuten siksi sillä täällä siellä tänne sinne
paljon vähän enemmän vähemmän ihan aivan todella tosi erittäin hyvin melko aika
voida voi voin voit voimme voitte voivat voisi voisin voisit voisimme voisitte voisivat
voisiko voiko voitaisiin täytyä täytyy pitää pitäisi tulisi saada saisi saisimme
haluta haluan haluamme haluaisin haluaisimme haluaisi etsiä etsin etsimme etsitään
löytää löytäisi löytyä löytyy löytyisikö tarvita tarvitsen tarvitsemme tarvitaan
tietää tiedätkö kertoa kerro kertoisitko ehdottaa ehdota suositella suosittele
hei moi moikka terve tervehdys kiitos kiitti ok okei joo juu no nii kyllä
asia asiat juttu jutut tapa tapoja keino keinoja
mä sä mun sun mulle sulle mulla sulla meil teil oon oot ollaan tää toi noi nää nuo
niinku just kans vois voisko pitäis onks onkohan mitäs jotain eka
"""

_EN = """
a an the and or but nor if then else when while because although though so than that
this these those there here what which who whom whose where why how whether
i me my mine myself you your yours yourself he him his she her hers it its itself
we us our ours ourselves they them their theirs themselves one ones
am is are was were be been being have has had having do does did doing done
can could may might must shall should will would ought
not no nor only also just very too quite rather really even still yet already
of in on at by for with about against between into through during before after above below
to from up down out off over under again further once per via within without across
all any both each few more most other some such own same several many much lot lots
etc eg ie vs
don doesn didn isn aren wasn weren won wouldn couldn shouldn ll ve re
hi hello hey thanks thank please ok okay yes yeah
find finding look looking want wanting need needs needing know tell get got getting
something anything someone anyone way ways thing things kind kinds like
"""

_SV = """
och eller men att som det den de en ett i på av för med till om från är var vara varit
har hade ha haft inte ej jag du han hon vi ni dem oss mig dig sig honom henne
min mitt mina din ditt dina sin sitt sina vår vårt våra er ert era deras hans hennes dess
hur vad vem vems varför när var vilken vilket vilka vart
kan kunna kunde skulle ska skall vill vilja måste bör borde får få fick
också bara så nu här där mycket lite mer mest mindre
någon något några ingen inget inga alla allt annan annat andra denna detta dessa
sådan sådant sådana själv samma olika många flera
under över mellan efter före genom hos mot vid utan inom enligt sedan än
bli blir blev blivit göra gör gjorde gjort
hej hallå tack snälla ja nej okej
hitta hittar letar leta söker behöver behöva sätt saker sak
"""


def _parse(block: str) -> frozenset[str]:
    return frozenset(block.split())


STOP_WORDS: dict[str, frozenset[str]] = {
    "fi": _parse(_FI),
    "en": _parse(_EN),
    "sv": _parse(_SV),
}


def stop_words(language: str) -> frozenset[str]:
    """The stop words of ``language`` (empty for a language without a list)."""
    return STOP_WORDS.get(language, frozenset())


def is_stop_word(word: str, language: str) -> bool:
    return word in STOP_WORDS.get(language, frozenset())
