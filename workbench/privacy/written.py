"""Recognizers for personal data as notes and letters write it: street addresses with their second lines, names
that a given-name list and a second sign make sure of, towns from gazetteers or from the words around them
("lives in ...", a town after its postcode), firms named after their partners, employers after "works at".

Every recognizer here is a Presidio `EntityRecognizer` whose regular expressions are compiled once; each result
says in its explanation which rule found it. The word lists come from `gazetteers` (Faker's locale data).
"""

import functools
import re

from workbench.privacy import gazetteers

CAPITAL = "A-ZÀ-ÖØ-Þ"
WORD = re.compile(r"[^\W\d_](?:[\w'’]|[-.](?=[^\W\d_]))*")
NAME_PARTICLES = {
    "van",
    "der",
    "den",
    "de",
    "la",
    "le",
    "du",
    "des",
    "di",
    "da",
    "del",
    "della",
    "von",
    "zu",
    "dos",
    "das",
    "ter",
    "ten",
    "st",
}

# Our hand list of street types after the name (matched in any case) beside Faker's (capitalised).
HAND_TYPES_AFTER = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Way|Crescent|Cres|Close|Terrace|Tce|Boulevard|Blvd|"
    "Parkway|Pkwy|Highway|Hwy|Square|Sq|Gardens|Gdns|Grove|Mews|Row|Walk|Hill|Park|View|Rise|Green|Circle|Cir|Trail|"
    "Plaza|Crossing|Heights|Hts|Wharf|Quay|Parade|Esplanade"
)
# Faker's types that follow a number and a capitalised word in clinical prose more often than they name a street.
NOT_STREET_TYPES = {"Follow", "Part", "Line", "Block", "End", "Break", "Stand", "Round", "Trailer", "Formation", "Distributor"}
NOT_STREET_TYPES |= {"Mission", "Subway", "Upper", "Lower", "Para", "Sorok", "Ghat", "Mohalla", "Little", "Common", "Range"}
# Types written first that name a street without a number too; the rest need one.
STRONG_TYPES_BEFORE = (
    "rue|avenue|boulevard|chemin|impasse|allée|allee|quai|Via|Viale|Vicolo|Piazza|Piazzale|Corso|Contrada|Borgo|"
    "Strada|Stretto|Rotonda|Calle|Avenida|Paseo|Rambla|Camino|Rua|Travessa|Praça|Alameda|Largo|Canale"
)
UNIT_WORDS_EXTRA = "Apartment|Apt|Flat|Suite|Ste|Unit|Level|Floor|Fl|Lot|Shop|Room|Rm|Bldg|Building|Interno|Int|Scala|Etage|Stock|Wohnung|Bus|Bte|Escalera|Esc|Dpto|Piso|Puerta|Appartamento|Piano|Studio"
NOT_A_STREET_WORD = r"(?!(?:in|the|a|an|of|at|to|for|with|and|on|per|or|by|from|times|days|weeks|months|years|mg|ml|kg|x)\b)"


def alternation(words) -> str:
    """Literal words as one expression, factored by their prefixes (Via|Viale|Vicolo -> Vi(?:a(?:le)?|colo)): where a
    plain alternation tries every word at every position of a text, this fails at the first letter that starts none.
    The longest word that fits is tried first, as in an alternation sorted longest first."""
    root: dict = {}
    for word in set(words):
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def expression(node: dict) -> str:
        parts = [re.escape(char) + expression(child) for char, child in sorted(node.items()) if char]
        if not parts:
            return ""
        body = parts[0] if len(parts) == 1 else "(?:" + "|".join(parts) + ")"
        return f"(?:{body})?" if "" in node else body

    return expression(root)


# German and Dutch streets end in their type, then the number (Goethestraße 12, Kerkstraat 4a, Nisapad 905,
# Selinahof 69): no such ending before a digit, no such street. The search for one is a tenth of the street
# expression's, which tries every word's start.
WORD_ENDING_TYPES = (
    "straße strasse str. weg gasse platz allee ring damm ufer chaussee pfad steig hof straat laan plein gracht kade dijk "
    "singel steeg markt pad baan dreef plantsoen"
)
COMPOUND_HINT = re.compile(rf"(?i)(?:{alternation(WORD_ENDING_TYPES.split())})\s*\d")
# English words that end like a Dutch street and take a number (an iPad 2, keypad 3)
NOT_COMPOUND_STREETS = {"ipad", "keypad", "notepad", "touchpad", "trackpad", "launchpad", "scratchpad", "bahnhof"}


@functools.cache
def address_patterns() -> list[tuple[str, re.Pattern]]:
    after = alternation(t for t in gazetteers.street_types_after() if t not in NOT_STREET_TYPES)
    # Faker's types written before the name, and Spain's abbreviations of calle (C. Luna Bonilla 386, C/ Mayor 5)
    before = alternation([*gazetteers.street_types_before(), "C.", "C/"])
    units = alternation(set(gazetteers.unit_words()) | set(UNIT_WORDS_EXTRA.split("|")))
    strong_words = STRONG_TYPES_BEFORE.split("|")
    strong = alternation([*strong_words, *(w.upper() for w in strong_words), *(w.title() for w in strong_words)])
    unit = rf"(?:(?:{units})\b\.?\s*(?:No\.?\s*)?#?\s*[A-Za-z]?\d{{1,5}}[A-Za-z]?\b|#\s*\d{{1,5}}\b)"
    number = r"\d{1,5}[A-Za-z]?(?:\s?[-/]\s?\d{1,5}[A-Za-z]?)?"
    name = rf"(?:[{CAPITAL}][\w'’.\-]{{0,40}}|(?:de|du|des|la|le|di|da|del|della|van|von|der|of|the|St\.?))"
    units_before = rf"(?:{unit},?\s+){{0,2}}"
    unit_after = rf"(?:,?\s*{unit}){{0,2}}"
    return [
        # Flat 3, 22 Baker Street; Apt. 739 54 Nguyen Anchorage; 839/34 Dawson Circlet; 6188 Weaver Shoal Apt. 241
        (
            "number_name_type",
            re.compile(
                rf"(?<![\w/]){units_before}{number},?\s+(?:{NOT_A_STREET_WORD}{name}\s+){{1,4}}"
                rf"(?:(?:{after})|(?i:{alternation(HAND_TYPES_AFTER.split('|'))}))\b\.?{unit_after}"
            ),
        ),
        # Via Roma, 12 Piano 3; Calle Mayor 5; rue de la Paix; 12 rue de la Paix; Flat 2, Piazza Piermaria, 491
        (
            "type_name_number",
            re.compile(
                rf"(?<![\w/]){units_before}(?:{number}(?:\s*(?:bis|ter))?,?\s+)?(?:(?i:{before}))\s+(?:{name}\s+){{0,4}}{name}"
                rf",?\s*{number}(?:\s*(?:bis|ter))?\b{unit_after}"
            ),
        ),
        (
            "type_name",
            re.compile(
                rf"(?<![\w/]){units_before}(?:{number}(?:\s*(?:bis|ter))?,?\s+)?(?:{strong})\s+(?:(?:de\s+la|de\s+l'|du|des|de|di|della|del)\s+)?"
                rf"[{CAPITAL}][\w'’\-]{{1,40}}(?:\s+[{CAPITAL}][\w'’\-]{{1,40}}){{0,2}}{unit_after}"
            ),
        ),
        # Goethestraße 12, Mülichenstr. 6-2, Kerkstraat 4a
        (
            "compound_number",
            re.compile(
                rf"(?i)\b([A-Za-zÀ-ÿ][A-Za-zÀ-ÿ\-]{{0,40}}?(?:{alternation(WORD_ENDING_TYPES.split())}))\s*\d{{1,4}}[A-Za-z]?(?:\s*[-/]\s*\d{{1,4}})?\b"
            ),
        ),
        ("po_box", re.compile(r"(?i)\b(?:P\.?\s?O\.?\s?Box|Post\s?Office\s?Box|Postfach|Apartado|Bo[iî]te\s+postale|BP)\s*\d{1,6}\b")),
        # a flat, suite or studio with its number: part of an address beside one (Flat 02, Brandon Fork), never alone
        ("unit", re.compile(rf"(?<![\w/]){unit}")),
    ]


def _results(entity: str, found: list[tuple[int, int, str]], score: float, recognizer: str):
    from presidio_analyzer import AnalysisExplanation, RecognizerResult

    out = []
    for start, end, rule in found:
        explanation = AnalysisExplanation(recognizer=recognizer, original_score=score, pattern_name=rule, textual_explanation=rule)
        out.append(RecognizerResult(entity, start, end, score, analysis_explanation=explanation))
    return out


def addresses_in(text: str) -> list[tuple[int, int, str]]:
    found, units = [], []
    for rule, pattern in address_patterns():
        if rule == "compound_number" and not COMPOUND_HINT.search(text):
            continue
        if rule == "unit":
            units = [(m.start(), m.end(), rule) for m in pattern.finditer(text)]
        elif rule == "compound_number":
            found += [(m.start(), m.end(), rule) for m in pattern.finditer(text) if m.group(1).lower() not in NOT_COMPOUND_STREETS]
        else:
            found += [(m.start(), m.end(), rule) for m in pattern.finditer(text)]
    streets = _merged(found, text)
    if not streets or not units:
        return streets
    # a unit joins the street it stands beside, on either side, and a unit beside that unit (Flat 13, Studio 11I,
    # Watkins Land); a unit beside no street is left, and a joined span keeps the rule of its street
    joined = []
    for start, end, _ in _merged(streets + units, text):
        rules = [rule for a, b, rule in streets if a < end and start < b]
        if rules:
            joined.append((start, end, rules[0]))
    return joined


def _merged(found: list[tuple[int, int, str]], text: str) -> list[tuple[int, int, str]]:
    """Overlapping spans, or spans apart by a comma or spaces only, joined (an address found in two pieces)."""
    out: list[list] = []
    for start, end, rule in sorted(found):
        if out and start <= out[-1][1] + 2 and not text[out[-1][1] : start].strip(" ,"):
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end, rule])
    return [(s, e, r) for s, e, r in out]


@functools.lru_cache(maxsize=8)
def _tokens(text: str) -> tuple[tuple[int, int, str], ...]:
    """The words of a text, shared by the name and place recognizers that read the same text one after the other."""
    return tuple((m.start(), m.end(), m.group()) for m in WORD.finditer(text))


def _capitalised(word: str) -> bool:
    return word[0].isupper() and not word.isupper() if len(word) > 1 else word.isupper()


def names_in(text: str) -> list[tuple[int, int, str]]:
    given, family, common = gazetteers.given_names(), gazetteers.surnames(), gazetteers.common_words()
    tokens = _tokens(text)
    found = []
    index = 0

    def spaced(a: int, b: int) -> bool:
        return text[tokens[a][1] : tokens[b][0]] == " "

    while index < len(tokens) - 1:
        start, end, word = tokens[index]
        lower = word.lower()
        if lower not in given:
            index += 1
            continue
        following = tokens[index + 1]
        rule, last = None, index + 1
        if following[2].lower() in NAME_PARTICLES:
            pass  # the particles' rule below
        elif _capitalised(word) and spaced(index, index + 1) and _capitalised(following[2]) and following[2].lower() not in common:
            rule = "given name and a capitalised word"
        elif (
            word.islower() and spaced(index, index + 1) and following[2].islower() and following[2] in family and following[2] not in common
        ):
            rule = "given name and surname in lower case"
        if not rule and spaced(index, index + 1) and following[2].lower() in NAME_PARTICLES:
            # a surname after particles straight after the given name (Kirsten de la Leavey, saar van salmen)
            after = index + 1
            while after < len(tokens) and after - index <= 3 and tokens[after][2].lower() in NAME_PARTICLES and spaced(after - 1, after):
                after += 1
            if after < len(tokens) and after - index <= 4 and spaced(after - 1, after):
                surname = tokens[after][2]
                same_case = _capitalised(surname) if _capitalised(word) else word.islower() and surname.islower()
                if same_case and surname.lower() not in common and surname.lower() not in NAME_PARTICLES:
                    rule, last = "given name, particles and a surname", after
        if not rule:
            index += 1
            continue
        # a second given name before (jose ignacio folch)
        while (
            index > 0
            and tokens[index - 1][2].lower() in given
            and spaced(index - 1, index)
            and tokens[index - 1][2].islower() == word.islower()
        ):
            index -= 1
            start = tokens[index][0]
        # a second surname after a hyphen, or a surname after particles (van der Berg, de la Cruz)
        while last + 1 < len(tokens):
            nxt = tokens[last + 1]
            between = text[tokens[last][1] : nxt[0]]
            if between == "-" and (_capitalised(nxt[2]) or nxt[2].islower() == word.islower()):
                last += 1
            elif between == " " and nxt[2].lower() in NAME_PARTICLES and last + 2 < len(tokens):
                after = tokens[last + 2]
                if text[nxt[1] : after[0]] == " " and _capitalised(after[2]):
                    last += 2
                else:
                    break
            else:
                break
        if found and found[-1][1] > start:  # the second given name was the last name's end
            start = found.pop()[0]
        found.append((start, tokens[last][1], rule))
        index = last + 1
    return found


RESIDENCE = re.compile(
    r"(?i)\b(?:lives?|lived|living|resides?|resided|residing|resident|moved|moving|relocated|relocating|based|born|"
    r"grew up|comes?|came|originally|travelled|traveled|returned)(?:\s+(?:alone|here|now|back|there|with\s+\w+))?\s+"
    r"(?:in|to|at|near|from)\s+(?=[" + CAPITAL + r"])"
)
PLACE_WORDS = re.compile(
    rf"[{CAPITAL}][\w'’]{{0,40}}(?:(?:-|[ \t]+|-(?:sur|sous|les|en|le|la|de|di|am|an|im|upon|on)-|[ \t]+(?:di|de|del|della|sur|am|an|upon|le|la|les)[ \t]+)"
    rf"[{CAPITAL}][\w'’]{{0,40}}){{0,3}}"
)
POSTCODE_TOWN = re.compile(
    rf"(?m)^[ \t]*(?:\d{{4,5}}|[A-Z]{{1,2}}\d[A-Z\d]?\s?\d[A-Z]{{2}}|[A-Z]\d[A-Z]\s?\d[A-Z]\d|\d{{4}}\s?[A-Z]{{2}}|[A-Z]-\d{{4,5}}|"
    rf"(?:[AC-FHKNPRTV-Y]\d{{2}}|D6W)\s?[0-9AC-FHKNPRTV-Y]{{4}})[ \t]+"
    rf"([{CAPITAL}][^\n,;]{{1,40}}?)[ \t]*(?=$|,|;)"
)


def places_in(text: str) -> list[tuple[int, int, str]]:
    gazetteer, common = gazetteers.places(), gazetteers.common_words()
    tokens = _tokens(text)
    found = []
    index = 0
    while index < len(tokens):
        start, end, word = tokens[index]
        candidates = gazetteer.get(word.lower()) if word[0].isupper() else None
        matched = 0
        for phrase in candidates or ():
            if index + len(phrase) > len(tokens):
                continue
            window = tokens[index : index + len(phrase)]
            if all(t[2].lower() == p for t, p in zip(window, phrase)) and all(
                not text[a[1] : b[0]].strip(" -'’") and "\n" not in text[a[1] : b[0]] for a, b in zip(window, window[1:])
            ):
                matched = len(phrase)
                break
        if matched:
            found.append((start, tokens[index + matched - 1][1], "place list"))
            index += matched
        else:
            index += 1
    for match in RESIDENCE.finditer(text):
        place = PLACE_WORDS.match(text, match.end())
        words = list(re.finditer(r"[^\s-]+", place.group())) if place else []
        while words and words[-1].group().lower() in common:  # "moved to Leeds May" ends at Leeds
            words.pop()
        if words and not all(word.group().lower() in common for word in words):
            found.append((place.start(), place.start() + words[-1].end(), "a place after words of living or moving"))
    for match in POSTCODE_TOWN.finditer(text):
        # West Jerry, Port Rebeccaside: a town's first word may be an everyday one, not all of them
        if not all(word.lower() in common for word in match.group(1).split()):
            found.append((match.start(1), match.end(1), "a town after its postcode"))
    return found


FIRM = re.compile(
    rf"\b[{CAPITAL}][\w'’\-]{{1,40}}(?:,\s+[{CAPITAL}][\w'’\-]{{1,40}}){{1,3}},?\s+(?:and|&|e|et|und|y|en)\s+[{CAPITAL}][\w'’\-]{{1,40}}"
    r"(?:\s+(?:e|et|&|and|und)\s+(?:figli|fils|Fils|Figli|Söhne|Sons|sons))?"
)
EMPLOYER = re.compile(
    rf"(?i:\b(?:works?|worked|working|employed|employee|transferred|referred|discharged)\s+(?:at|for|by|from|with)\s+)"
    rf"([{CAPITAL}][\w&'’.\-]{{0,40}}(?:(?:\s+|-|\s+(?:&|and|of|e|et|und|y)\s+)[{CAPITAL}][\w&'’.\-]{{0,40}}){{0,5}})"
)


def organisations_in(text: str) -> list[tuple[int, int, str]]:
    found = [(m.start(), m.end(), "a firm named after its partners") for m in FIRM.finditer(text)]
    for match in EMPLOYER.finditer(text):
        words = match.group(1).rstrip(".")
        if words.split()[0].lower() not in gazetteers.common_words() and words.lower() not in gazetteers.given_names():
            found.append((match.start(1), match.start(1) + len(words), "a name after works at, employed by or transferred from"))
    return found


# Presidio's name for each finder, the entity, the finder, its score.
RECOGNIZERS = [
    # street addresses in the forms of the US, the UK, Canada, Ireland, Australia and continental Europe, with the
    # second line's flat, unit, suite, level or floor before or after the street
    ("AddressRecognizer", "ADDRESS", addresses_in, 0.6),
    # a listed given name and a capitalised word (Ornella Comeriato, Nedda Ponti-Smirnoff, Ann van der Berg), or a
    # listed given name and surname in lower case (theresa reid)
    ("NameListRecognizer", "PERSON", names_in, 0.55),
    # listed countries, states, counties, provinces, regions and towns with a capital; a place after words of
    # living or moving; a town after its postcode at a line's start
    ("PlaceListRecognizer", "LOCATION", places_in, 0.5),
    # firms named after partners; the capitalised words after "works at", "employed by", "transferred from"
    ("EmployerRecognizer", "ORGANIZATION", organisations_in, 0.5),
]


def recognizers() -> list:
    """The finders of this module as Presidio recognizers: each runs on the text and names the rule of every span."""
    from presidio_analyzer import EntityRecognizer

    class FinderRecognizer(EntityRecognizer):
        def __init__(self, name: str, entity: str, finder, score: float):
            self.finder, self.score = finder, score
            super().__init__(supported_entities=[entity], name=name)

        def load(self) -> None:
            pass

        def analyze(self, text, entities, nlp_artifacts=None):
            return _results(self.supported_entities[0], self.finder(text), self.score, self.name)

    return [FinderRecognizer(*spec) for spec in RECOGNIZERS]
