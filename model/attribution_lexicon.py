"""Word lists of the rule attributor (``model.attribution``): reporting cues, the words
that end a noun phrase, and the nouns and names that tell a source's kind.

Data only, kept apart from the rules so a reviewer can extend a list without reading
the regular expressions built from it. Every list is lowercase unless it says otherwise.
"""

from __future__ import annotations

# --- cues ---------------------------------------------------------------------------

# Reporting verbs by lemma: every form that attributes speech or a stance. Forms that
# are also everyday nouns ("claims", "reports", "notes") are kept out of NOUNISH_FORMS'
# reach by the rules: a cue needs a source, and a determiner alone is none.
VERB_FORMS: dict[str, tuple[str, ...]] = {
    "say": ("say", "says", "said", "saying"),
    "tell": ("tell", "tells", "told", "telling"),
    "deny": ("deny", "denies", "denied", "denying"),
    "dismiss": ("dismiss", "dismisses", "dismissed", "dismissing"),
    "insist": ("insist", "insists", "insisted", "insisting"),
    "confirm": ("confirm", "confirms", "confirmed", "confirming"),
    "claim": ("claim", "claims", "claimed", "claiming"),
    "reject": ("reject", "rejects", "rejected", "rejecting"),
    "warn": ("warn", "warns", "warned", "warning"),
    "add": ("adds", "added", "adding"),  # not "add": "add to" is rarely reporting
    "state": ("stated",),
    "announce": ("announces", "announced", "announcing"),
    "allege": ("alleges", "alleged", "alleging"),
    "argue": ("argue", "argues", "argued", "arguing"),
    "assert": ("asserts", "asserted", "asserting"),
    "maintain": ("maintains", "maintained", "maintaining"),
    "stress": ("stresses", "stressed", "stressing"),
    "emphasise": (
        "emphasises",
        "emphasised",
        "emphasising",
        "emphasizes",
        "emphasized",
        "emphasizing",
    ),
    "note": ("noted", "noting"),
    "explain": ("explains", "explained", "explaining"),
    "acknowledge": ("acknowledge", "acknowledges", "acknowledged", "acknowledging"),
    "admit": ("admit", "admits", "admitted", "admitting"),
    "concede": ("concede", "concedes", "conceded", "conceding"),
    "suggest": ("suggests", "suggested", "suggesting"),
    "report": ("reported",),
    "write": ("writes", "wrote", "writing"),
    "tweet": ("tweeted",),
    "declare": ("declares", "declared", "declaring"),
    "contend": ("contends", "contended", "contending"),
    "reiterate": ("reiterates", "reiterated", "reiterating"),
    "caution": ("cautions", "cautioned", "cautioning"),
    "accuse": ("accuses", "accused", "accusing"),
    "criticise": ("criticises", "criticised", "criticizes", "criticized"),
    "refute": ("refute", "refutes", "refuted", "refuting"),
    "rebuff": ("rebuffs", "rebuffed"),
    "dispute": ("dispute", "disputes", "disputed", "disputing"),
    "rubbish": ("rubbished",),
    "counter": ("countered",),
    "reply": ("replied",),
    "retort": ("retorted",),
    "reveal": ("reveals", "revealed"),
    "promise": ("promised",),
    "vow": ("vows", "vowed"),
    "predict": ("predicted",),
    "question": ("questioned",),
    "doubt": ("doubted",),
    "hint": ("hinted",),
    "indicate": ("indicated",),
    "describe": ("described",),
}
# Verb + particle cues: the particle belongs to the cue, its object does not.
PARTICLE_FORMS: dict[str, tuple[str, ...]] = {
    "hit out at": ("hit out at", "hits out at", "hitting out at"),
    "play down": ("play down", "plays down", "played down", "playing down"),
    "laugh off": ("laugh off", "laughs off", "laughed off", "laughing off"),
    "brush aside": ("brushed aside", "brushes aside", "brushed off", "brushes off"),
    "rule out": ("rule out", "rules out", "ruled out", "ruling out"),
    "push back": ("pushed back on", "pushed back against", "pushes back on"),
    "cast doubt": ("cast doubt on", "casts doubt on", "casting doubt on", "cast doubt over"),
    "pour cold water": ("poured cold water on", "pours cold water on"),
}
# "shut down" and "shot down" attribute only when what is shut down is talk: "the
# government shut down the plant" reports an act, not a stance.
TALK_PARTICLE_FORMS: dict[str, tuple[str, ...]] = {
    "shut down": ("shut down", "shuts down", "shutting down", "shot down", "shoots down"),
}
TALK_OBJECTS = (
    "speculation",
    "rumours",
    "rumour",
    "rumors",
    "rumor",
    "reports",
    "report",
    "talk",
    "suggestions",
    "suggestion",
    "claims",
    "claim",
    "questions",
    "the idea",
    "the notion",
    "allegations",
)
# "told reporters" is one cue; "told the BBC" is "told" and an object.
TOLD_AUDIENCES = (
    "reporters",
    "journalists",
    "a news conference",
    "a press conference",
    "a briefing",
    "a news briefing",
    "the press",
)
# Verb forms that are also common nouns; they never end a noun phrase (see STOP_WORDS).
NOUNISH_FORMS = frozenset(
    {"say", "claim", "claims", "dispute", "disputes", "warning", "writing", "question"}
)
# A participle cue (", saying ...") reports its sentence's subject.
PARTICIPLE_SUFFIX = "ing"

# Which cue decides the label when a sentence has several: a denial is made by the one
# who denies, a caveat by the one who hedges ("whose move decides the label").
DENIAL_CUES = frozenset(
    {
        "deny",
        "dismiss",
        "reject",
        "refute",
        "rebuff",
        "dispute",
        "rubbish",
        "counter",
        "retort",
        "laugh off",
        "play down",
        "shut down",
        "brush aside",
        "rule out",
        "push back",
        "pour cold water",
    }
)
CAVEAT_CUES = frozenset(
    {"caution", "acknowledge", "concede", "admit", "cast doubt", "question", "doubt", "hint"}
)
# --- noun phrases --------------------------------------------------------------------

# Determiners (and number words) may open a noun phrase but are never its head.
DETERMINERS = (
    # Not "that": it opens far more clauses ("... that officials said") than phrases.
    "the", "a", "an", "this", "these", "those", "its", "his", "her", "their",
    "our", "my", "your", "some", "many", "several", "few", "both", "another", "other",
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "dozens of", "hundreds of", "a number of", "a group of", "a pair of",
)  # fmt: skip
# Words a noun phrase never contains: function words, auxiliaries, sentence adverbs,
# time words and the cues themselves. Each one bounds a source on its left or right.
STOP_WORDS = (
    # conjunctions, complementisers, relatives
    "and", "but", "or", "nor", "so", "yet", "that", "which", "who", "whom", "whose",
    "when", "while", "whereas", "where", "as", "because", "if", "unless", "although",
    "though", "since", "than", "then", "whether", "what", "how", "why",
    # prepositions ("of" and a few others join phrases, see the rules)
    "of", "to", "in", "on", "at", "by", "for", "from", "with", "about", "into", "onto",
    "over", "under", "after", "before", "against", "between", "during", "without",
    "through", "across", "per", "via", "amid", "among", "despite", "following", "upon",
    "within", "toward", "towards", "until", "like", "unlike", "including", "citing",
    # auxiliaries and copulas
    "am", "is", "are", "was", "were", "be", "been", "being", "has", "have", "had", "do",
    "does", "did", "will", "would", "shall", "should", "can", "could", "may", "might",
    "must", "not", "no", "never", "also", "there", "here", "it's", "let",
    # sentence adverbs and time words
    "however", "meanwhile", "separately", "later", "earlier", "again", "now", "once",
    "already", "still", "previously", "reportedly", "allegedly", "apparently",
    "repeatedly", "only", "even", "further", "furthermore", "moreover", "instead",
    "indeed", "today", "yesterday", "tonight", "tomorrow", "last", "next", "week",
    "weeks", "month", "months", "year", "years", "day", "days", "morning", "afternoon",
    "evening", "night", "weekend", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday", "january", "february", "march", "april", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
# Between a subject and its cue: "He has repeatedly denied", "Moscow on Tuesday denied".
GAP_WORDS = (
    "has", "have", "had", "did", "does", "do", "will", "would", "could", "can", "may",
    "might", "should", "must", "shall", "was", "were", "is", "are", "been", "be", "being",
    "not", "never", "also", "later", "earlier", "again", "then", "now", "once", "already",
    "still", "previously", "reportedly", "repeatedly", "only", "even", "further",
    "subsequently", "separately", "too", "just", "first", "initially", "since", "today",
    "yesterday", "tonight", "long", "swiftly", "quickly", "promptly",
)  # fmt: skip
# Forms of "be": with a past participle cue they make it passive ("he was denied entry").
BE_WORDS = frozenset({"was", "were", "is", "are", "been", "be", "being"})
# Lowercase "-ly" words that are not adverbs.
NOT_ADVERBS = (
    "family", "ally", "assembly", "supply", "reply", "rally", "anomaly", "monopoly",
    "belly", "bully", "jelly", "italy", "july",
)  # fmt: skip
# Past tenses without "-ed": with the "-ed" words they end a noun phrase read rightwards
# ("In a statement, the ministry called ..."), where no cue bounds it.
IRREGULAR_PASTS = (
    "gave", "made", "took", "went", "came", "met", "spoke", "left", "held", "sent", "put",
    "set", "kept", "got", "ran", "began", "saw", "knew", "thought", "found", "became",
    "brought", "led", "stood", "fell", "won", "lost", "paid", "built", "sought", "struck",
    "felt", "meant", "heard", "called", "urged", "issued",
)  # fmt: skip
# Post-modifiers that keep anonymous sourcing in the phrase ("people familiar with the talks").
ANONYMITY_LINKS = (
    "familiar with",
    "close to",
    "briefed on",
    "with knowledge of",
    "with direct knowledge of",
    "aware of",
    "involved in",
)
ANONYMITY_CLAUSES = (
    "speaking on condition of anonymity",
    "speaking on the condition of anonymity",
    "who spoke on condition of anonymity",
    "who spoke on the condition of anonymity",
    "who asked not to be named",
    "who asked not to be identified",
    "who declined to be named",
    "who declined to be identified",
)

# --- kinds ---------------------------------------------------------------------------

PRONOUNS = frozenset(
    {"i", "we", "you", "he", "she", "it", "they", "me", "us", "him", "her", "them"}
)
# Heads and modifiers of anonymous sourcing.
UNNAMED_HEADS = frozenset(
    {
        "source",
        "sources",
        "insider",
        "insiders",
        "reports",
        "report",
        "statement",
        "document",
        "documents",
        "filing",
        "letter",
        "memo",
        "readout",
        "rumours",
        "rumors",
    }
)
UNNAMED_MODIFIERS = frozenset({"unnamed", "anonymous", "unidentified"})
# Common nouns for people by role: only needed where capitals cannot tell a role from a
# name, at the start of a sentence ("Officials said" against "Kirby said").
ROLE_HEADS = frozenset(
    {
        "official", "officials", "spokesperson", "spokesman", "spokeswoman", "minister",
        "ministers", "president", "secretary", "diplomat", "diplomats", "analyst",
        "analysts", "expert", "experts", "police", "authorities", "investigators",
        "prosecutors", "witnesses", "residents", "lawmakers", "legislators", "senators",
        "critics", "observers", "researchers", "scientists", "doctors", "officers",
        "commanders", "troops", "soldiers", "rebels", "militants", "protesters",
        "activists", "campaigners", "lawyers", "negotiators", "aides", "advisers",
        "advisors", "leaders", "envoy", "ambassador", "governor", "mayor", "judge",
        "director", "executives", "chairman", "chairwoman", "economists", "opponents",
        "supporters", "members", "staff", "workers", "employees", "organisers",
        "organizers", "parents", "families", "relatives", "neighbours", "neighbors",
        "villagers", "survivors", "victims", "fans", "players", "regulators", "people",
    }
)  # fmt: skip
# Lowercase heads that name an institution rather than a person: organisation, not role.
ORGANISATION_HEADS = frozenset(
    {
        "ministry", "government", "administration", "company", "firm", "department",
        "embassy", "office", "agency", "newspaper", "paper", "outlet", "broadcaster",
        "network", "channel", "website", "court", "council", "committee", "commission",
        "parliament", "congress", "senate", "cabinet", "party", "union", "bank", "club",
        "military", "army", "navy", "media", "regime", "kremlin", "institute", "university",
        "board", "group", "organisation", "organization", "alliance", "bloc", "coalition",
        "team", "federation", "association", "league", "consulate",
        "mission", "secretariat", "watchdog", "regulator", "tribunal", "junta",
        "state", "country", "nation", "city", "county", "province",
    }
)  # fmt: skip
# Capitalised words that make a name an organisation's ("Acme Corp", "Ministry of Defence").
ORGANISATION_MARKERS = frozenset(
    {
        "corp", "corp.", "corporation", "inc", "inc.", "ltd", "ltd.", "llc", "plc", "co.",
        "company", "group", "holdings", "bank", "ministry", "department", "government",
        "agency", "office", "council", "commission", "committee", "court", "party",
        "army", "forces", "force", "navy", "police", "university", "institute", "college",
        "school", "hospital", "association", "union", "federation", "organisation",
        "organization", "foundation", "fund", "authority", "board", "bureau", "service",
        "services", "news", "times", "post", "journal", "telegraph", "guardian", "herald",
        "tribune", "gazette", "press", "daily", "television", "tv", "radio", "network",
        "parliament", "congress", "senate", "assembly", "embassy", "administration",
        "house", "airlines", "airways", "motors", "systems", "technologies", "energy",
        "media", "club", "league", "alliance", "coalition", "movement", "front",
    }
)  # fmt: skip
# Names that stand for an organisation or a state without a marker word: countries and
# capitals used for their governments, seats of power, outlets, well-known bodies.
ORGANISATION_NAMES = frozenset(
    {
        # seats of power and capitals
        "kremlin", "white house", "pentagon", "downing street", "elysee", "élysée",
        "whitehall", "state department", "foreign office", "moscow", "washington",
        "beijing", "pyongyang", "seoul", "tokyo", "kyiv", "kiev", "tehran", "london",
        "paris", "berlin", "brussels", "ankara", "jerusalem", "damascus", "riyadh",
        "new delhi", "delhi", "islamabad", "kabul", "baghdad", "cairo", "ottawa",
        "canberra", "havana", "caracas", "taipei", "minsk", "warsaw", "rome", "madrid",
        "athens", "vienna", "stockholm", "oslo", "helsinki", "copenhagen", "budapest",
        "prague", "bucharest", "belgrade", "tbilisi", "yerevan", "baku", "doha", "abu dhabi",
        "manila", "hanoi", "bangkok", "jakarta", "nairobi", "addis ababa", "pretoria",
        "brasilia", "buenos aires", "mexico city", "the hague", "geneva",
        # countries
        "afghanistan", "albania", "algeria", "argentina", "armenia", "australia",
        "austria", "azerbaijan", "bahrain", "bangladesh", "belarus", "belgium", "bolivia",
        "bosnia", "brazil", "britain", "bulgaria", "cambodia", "canada", "chile", "china",
        "colombia", "croatia", "cuba", "cyprus", "czech republic", "denmark", "ecuador",
        "egypt", "estonia", "ethiopia", "finland", "france", "georgia", "germany", "ghana",
        "greece", "hungary", "iceland", "india", "indonesia", "iran", "iraq", "ireland",
        "israel", "italy", "japan", "jordan", "kazakhstan", "kenya", "kosovo", "kuwait",
        "laos", "latvia", "lebanon", "libya", "lithuania", "luxembourg", "malaysia",
        "mali", "mexico", "moldova", "mongolia", "montenegro", "morocco", "myanmar",
        "nepal", "netherlands", "new zealand", "nicaragua", "niger", "nigeria",
        "north korea", "north macedonia", "norway", "oman", "pakistan", "palestine",
        "panama", "peru", "philippines", "poland", "portugal", "qatar", "romania",
        "russia", "rwanda", "saudi arabia", "serbia", "singapore", "slovakia", "slovenia",
        "somalia", "south africa", "south korea", "south sudan", "spain", "sri lanka",
        "sudan", "sweden", "switzerland", "syria", "taiwan", "tajikistan", "thailand",
        "tunisia", "turkey", "türkiye", "turkmenistan", "uganda", "ukraine",
        "united arab emirates", "uae", "united kingdom", "uk", "united states",
        "us", "u.s.", "usa", "america", "uruguay", "uzbekistan", "venezuela", "vietnam",
        "yemen", "zambia", "zimbabwe", "the north", "the south",
        # bodies and outlets
        "united nations", "un", "u.n.", "nato", "eu", "european union", "european commission",
        "imf", "world bank", "opec", "iaea", "interpol", "hamas", "hezbollah",
        "taliban", "reuters", "ap", "afp", "bbc", "cnn", "kcna", "xinhua", "yonhap",
        "bloomberg", "tass", "ria novosti", "interfax", "al jazeera", "sky news", "fox news",
        "nbc", "cbs", "abc", "npr", "politico", "axios", "the economist",
    }
)  # fmt: skip
