"""Word lists for the free-text scan, built from the locale data of Faker (already in our tree), across its locales.

Given names and surnames (every Latin-script locale's), place names (countries in every locale's language; states,
counties, provinces, regions, departments; the real towns the locales list), street types written after the name
(the USPS list with its plurals, the UK's, Australia's) and before it (French, Italian, Spanish, Portuguese), and the
words of an address's second line (Flat, Apt., Appartamento, Piso ...). Built once per process, on first use.

A list says what a word can be, never that it is: the recognizers that read these lists ask for a second sign (a
capital letter, a known surname after a given name, a word like "lives in" before a town).
"""

import functools
import importlib
import pkgutil
import re

LATIN = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿĀ-ž'’ .\-]+")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words that are also given names, surnames or places but far more often something else in English text: never
# enough on their own. spaCy's English stop words are added to these.
EVERYDAY_WORDS = _words(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday today tomorrow yesterday "
    "will may mark grace hope faith joy rose bill guy dale art sunny summer autumn winter spring chase penny page pat "
    "bob don sue ray max victory love long young king hill bell white black green brown gray grey rich hunter baker "
    "cook cooper carter miller mason porter turner walker fisher fox wolf bird lamb hall wood woods field fields "
    "north south east west new old saint san santa mount lake port fort sir lord dear patient doctor nurse call tel "
    "phone email mobile home work office ward bed unit flat suite room level floor apt street road lane avenue "
    "clinic hospital practice surgery centre center health care medical general family son daughter wife husband "
    "mother father brother sister friend neighbour neighbor carer care plan note notes letter summary referral "
    "discharge admission admitted discharged seen review follow urgent routine normal stable pain chest head back "
    "blood heart lung liver kidney skin eye ear nose throat leg arm hand foot sugar salt iron gold silver "
    "china jordan chad georgia israel india victoria florence paris lincoln jackson washington austin dallas "
    "virginia carolina devon kent essex dorset cornwall york lancaster chester bath reading mobile nice"
)


@functools.cache
def common_words() -> frozenset[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(STOP_WORDS) | EVERYDAY_WORDS


def _providers(kind: str):
    package = importlib.import_module(f"faker.providers.{kind}")
    for module in pkgutil.iter_modules(package.__path__):
        yield importlib.import_module(f"faker.providers.{kind}.{module.name}").Provider


def _values(value) -> list:
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, (list, tuple)):
        return list(value)
    return []  # a property or a method: a generator, not a list


def _latin(values) -> set[str]:
    return {value.strip() for value in values if isinstance(value, str) and LATIN.fullmatch(value) and len(value.strip()) > 1}


@functools.cache
def given_names() -> frozenset[str]:
    """Given names of every Latin-script locale, lower-cased, without the everyday words and names of two letters."""
    names = set()
    for provider in _providers("person"):
        for attribute in ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary"):
            names |= _latin(_values(getattr(provider, attribute, None)))
    return frozenset(name.lower() for name in names if len(name) > 2) - common_words()


@functools.cache
def surnames() -> frozenset[str]:
    names = set()
    for provider in _providers("person"):
        names |= _latin(_values(getattr(provider, "last_names", None)))
    return frozenset(name.lower() for name in names if len(name) > 2) - common_words()


PLACE_LISTS = (
    "countries",
    "states",
    "counties",
    "provinces",
    "regions",
    "departments",
    "cities",
    "city_names",
    "municipalities",
    "concelhos",
    "distritos",
)


@functools.cache
def places() -> dict[str, tuple[tuple[str, ...], ...]]:
    """Place names as lower-case word tuples, keyed by their first word, longest first. A single word that is an
    everyday English word, a given name or shorter than four letters is left out (it needs more than a list)."""
    phrases = set()
    for provider in _providers("address"):
        for attribute in PLACE_LISTS:
            for value in _latin(_values(getattr(provider, attribute, None))):
                words = tuple(re.findall(r"[^\W\d_][\w'’]*", value.lower()))
                if not words:
                    continue
                if len(words) == 1 and (len(words[0]) < 4 or words[0] in common_words() or words[0] in given_names()):
                    continue
                phrases.add(words)
    keyed: dict[str, list] = {}
    for words in phrases:
        keyed.setdefault(words[0], []).append(words)
    return {first: tuple(sorted(group, key=len, reverse=True)) for first, group in keyed.items()}


@functools.cache
def street_types_after() -> tuple[str, ...]:
    """Street types written after the name in the English-speaking locales (USPS's list with its plurals, the UK's,
    Australia's and New Zealand's road types)."""
    types = set()
    for provider in _providers("address"):
        locale = provider.__module__.split(".")[-1]
        if locale.startswith("en") and locale != "en_MS":  # Malaysia's list is of street names, not types
            types |= _latin(_values(getattr(provider, "street_suffixes", None)))
    return tuple(sorted(types, key=len, reverse=True))


@functools.cache
def street_types_before() -> tuple[str, ...]:
    """Street types written before the name: the French, Spanish, Portuguese and Italian locales' (Italian's are
    Faker's `street_suffixes`, written first)."""
    types = set()
    for provider in _providers("address"):
        locale = provider.__module__.split(".")[-1]
        if locale[:2] in {"fr", "es", "pt", "it"}:
            types |= _latin(_values(getattr(provider, "street_prefixes", None)))
            if locale == "it_IT":
                types |= _latin(_values(getattr(provider, "street_suffixes", None)))
    # Abbreviations of one or two letters (C., Cr, Av) would find too much; "rang" (a Quebec road) is a verb in English.
    kept = {t.rstrip(".") for t in types} - {"rang"}
    return tuple(sorted((t for t in kept if len(t) > 2), key=len, reverse=True))


@functools.cache
def unit_words() -> tuple[str, ...]:
    """The first word of an address's second line in every locale (Flat, Apt, Suite, Unit, Level, Appartamento,
    Piano, Piso, Puerta, Interior, Studio ...)."""
    words = set()
    for provider in _providers("address"):
        for form in _values(getattr(provider, "secondary_address_formats", None)):
            first = re.match(r"[^\W\d_][\w]*\.?", form)
            if first and LATIN.fullmatch(first.group()):
                words.add(first.group().rstrip("."))
    return tuple(sorted(words, key=len, reverse=True))
