"""Names derived from what people write: slugs from service names, Python names from slugs.

A service may be named in any script (``Яндекс Трекер``, ``微信支付``), start with a digit
(``3scale``) or carry emoji. The slug (``SLUG_PATTERN``: DNS-label-like, starts with a letter)
is what everything machine-facing uses: the directory, the branch, the container, the proxy
route. It is derived by transliterating with ``anyascii`` (a maintained table covering every
script), so it stays pronounceable; the display name is kept as written wherever people read
it. Pure functions: the parser (in the starter) and the generator (in activities) share them.
"""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata

from anyascii import anyascii

from models.request import SLUG_PATTERN

MAX_SLUG_CHARS = 40
_WORD = re.compile(r"[a-z0-9]+")
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SYMBOL_CATEGORIES = frozenset({"So", "Sk", "Sm", "Sc", "Cs", "Co", "Cn"})
_EMOJI_NAME = re.compile(r":([a-z0-9_+-]+):")

# Names a generated package must not take: they would shadow what the integration imports.
_TAKEN_PACKAGES = frozenset({"tests", "httpx", "fastapi", "uvicorn", "pydantic", "starlette",
                             "anyio", "pytest", "coverage", "h11", "idna", "certifi",
                             "conftest", "typing_extensions", "sniffio", "annotated_types"})


def words(text: str) -> list[str]:
    """The ``[a-z0-9]`` words of ``text`` (everything else separates words)."""
    return _WORD.findall(text.lower())


def _without_symbols(text: str) -> str:
    """``text`` with emoji and other symbols turned into spaces."""
    return "".join(" " if unicodedata.category(char) in _SYMBOL_CATEGORIES else char
                   for char in text)


def _ascii_words(text: str) -> list[str]:
    """Transliterated words; emoji become their names only when nothing else is left."""
    found = words(anyascii(_without_symbols(text)))
    if not found:  # a name made only of symbols: "🚀🔥" -> rocket fire
        found = words(" ".join(_EMOJI_NAME.findall(anyascii(text).lower())).replace("_", " "))
    return found


def _spell_leading_digits(parts: list[str]) -> list[str]:
    """A slug starts with a letter: ``3scale`` -> ``three-scale``, ``7 eleven`` -> seven."""
    if not parts or not parts[0][0].isdigit():
        return parts
    first = parts[0]
    digits = len(first) - len(first.lstrip("0123456789"))
    spelled = [_DIGIT_WORDS[int(char)] for char in first[:digits]]
    rest = first[digits:]
    return [*spelled, *([rest] if rest else []), *parts[1:]]


def slug_for(name: str) -> str:
    """The slug of a service name, or ``""`` when nothing usable can be derived.

    ``Acme Weather API!`` -> ``acme-weather-api``; ``Яндекс Трекер 🚀`` -> ``yandeks-treker``;
    ``微信支付`` -> ``weixinzhifu``; ``3scale`` -> ``three-scale``. Cut at a word boundary to
    40 characters; always matches ``SLUG_PATTERN`` when not empty.
    """
    parts = _spell_leading_digits(_ascii_words(name))
    slug = ""
    for part in parts:
        candidate = f"{slug}-{part}" if slug else part
        if len(candidate) > MAX_SLUG_CHARS:
            if not slug:  # one very long word: cut it
                slug = part[:MAX_SLUG_CHARS]
            break
        slug = candidate
    slug = slug.strip("-")
    if len(slug) == 1:  # "X", "Ω": a letter alone is too short for a slug
        slug += "-service"
    return slug if re.fullmatch(SLUG_PATTERN, slug) else ""


def is_slug(text: str) -> bool:
    """Whether ``text`` is usable as a slug as it stands."""
    return re.fullmatch(SLUG_PATTERN, text) is not None


def package_name(slug: str) -> str:
    """``acme-weather`` -> ``acme_weather`` (suffixed when it would shadow another module)."""
    name = "_".join(words(slug)) or "integration"
    if name[0].isdigit():
        name = f"integration_{name}"
    if (keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _TAKEN_PACKAGES
            or name in sys.stdlib_module_names):
        name += "_integration"
    return name


def class_prefix(slug: str) -> str:
    """``acme-weather`` -> ``AcmeWeather``."""
    prefix = "".join(word.capitalize() for word in words(slug)) or "Integration"
    return prefix if prefix[0].isalpha() else f"Integration{prefix}"


def environment_prefix(slug: str) -> str:
    """``acme-weather`` -> ``ACME_WEATHER`` (the prefix of the integration's settings)."""
    return "_".join(words(slug)).upper()


def slugify(name: str) -> str:
    """``"Acme Weather API!"`` -> ``"acme-weather-api"``, any script transliterated (may be
    empty for junk); see ``slug_for``."""
    return slug_for(name)
