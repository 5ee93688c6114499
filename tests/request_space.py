"""Hypothesis strategies over the requests the issue form accepts, as people write them.

Bodies are rendered the way GitHub renders the form and go through the real parser, so a
drawn request is one the bot would accept: every integration type and authentication; any
mix of methods, with and without parameters; path parameters in any segment, with ``-`` or
``.`` in their names; file-like paths and trailing slashes; query parameters (named, typed,
fixed); base URLs with ports and paths; service names in any script, with digits,
punctuation and emoji (and sometimes a Slug field).
"""

from __future__ import annotations

from hypothesis import strategies as st

from models.request import HTTP_METHODS, AuthType, IntegrationRequest, IntegrationType
from rules.issue_form import parse_issue_form

NAME_WORDS = ["Acme", "weather", "Open", "Meteo", "Zürich", "Škoda", "Яндекс", "Трекер",
              "微信支付", "東京メトロ", "한국어", "Ελληνικά", "हिन्दी", "مرحبا", "3scale",
              "1Password", "web3", "API", "Data-Hub", "O'Reilly", "AT&T", "Café", "naïve"]
DECORATIONS = ["🚀", "🔥", "☀️", "👨‍👩‍👧", "™", "!", "?", "&", "(beta)", "#1", "v2", "—", "…"]
SEGMENT_WORDS = ["users", "forecast", "elevation", "v1", "items", "photos.json", "data.csv",
                 "search", "me", "a-b", "x_y", "~tilde", "2024", "files", "status", "ping",
                 # every other character a path may hold, as people paste them
                 "it's", "(v2)", "a*b", "x!y", "$value", "k;v", "a,b", "@me", "%20space",
                 "[0]", "key=value", "a:b", "+plus", "&more"]
PARAM_NAMES = ["id", "user-id", "user.id", "Key", "file.name", "class", "model_id", "a-b.c",
               "self", "payload", "params", "x", "2fa", "import", "query"]
QUERY_NAMES = ["latitude", "longitude", "hourly", "page", "per-page", "q", "filter[name]",
               "created:gte", "sort.by", "limit", "params", "lang"]
QUERY_TYPES = ["", ":float", ":int", ":bool", ":str", ":number", ":integer", ":boolean"]


@st.composite
def service_names(draw: st.DrawFn) -> str:
    """A service name in any script: words, digits, punctuation, emoji."""
    words = draw(st.lists(st.one_of(st.sampled_from(NAME_WORDS),
                                    st.text(st.characters(codec="utf-8",
                                                          categories=["L", "N"]),
                                            min_size=1, max_size=8)),
                          min_size=1, max_size=3))
    decorations = draw(st.lists(st.sampled_from(DECORATIONS), max_size=2))
    parts = words + decorations
    order = draw(st.permutations(parts))
    return " ".join(order)[:100].strip() or "Acme"


@st.composite
def segments(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["word", "param", "param-suffix", "mixed"]))
    if kind == "word":
        return draw(st.sampled_from(SEGMENT_WORDS))
    name = draw(st.sampled_from(PARAM_NAMES))
    if kind == "param":
        return f"{{{name}}}"
    if kind == "param-suffix":
        return f"{{{name}}}" + draw(st.sampled_from([".json", ".xml", "-v2", ".tar.gz"]))
    return draw(st.sampled_from(["v", "item-", "at."])) + f"{{{name}}}"


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    items = draw(st.lists(st.one_of(
        st.builds(lambda n, t: n + t, st.sampled_from(QUERY_NAMES), st.sampled_from(QUERY_TYPES)),
        st.builds(lambda n, v: f"{n}={v}", st.sampled_from(["format", "units", "v"]),
                  st.sampled_from(["json", "metric", "2", "a%20b"])),
        st.builds(lambda n: f"{n}={{{n}}}", st.sampled_from(["page", "cursor"])),
    ), max_size=4))
    return ("?" + "&".join(items)) if items else ""


@st.composite
def paths(draw: st.DrawFn) -> str:
    parts = draw(st.lists(segments(), max_size=4))
    path = "/" + "/".join(parts)
    if parts and draw(st.booleans()):
        path += "/"
    return path + draw(query_strings())


@st.composite
def endpoint_lines(draw: st.DrawFn) -> list[str]:
    methods = draw(st.sampled_from([["GET"], ["POST"], ["PUT", "PATCH", "DELETE"],
                                    list(HTTP_METHODS)]))
    pairs = draw(st.lists(st.tuples(st.sampled_from(methods), paths()), min_size=1,
                          max_size=5, unique_by=lambda pair: pair))
    descriptions = st.one_of(st.just(""), st.sampled_from([
        "current forecast for a latitude/longitude", "list them — all of them",
        "удалить фото", "写入数据 🚀", "uses `code` and *markdown*"]))
    lines = []
    for method, path in pairs:
        description = draw(descriptions)
        lines.append(f"{method} {path} - {description}" if description else f"{method} {path}")
    return lines


@st.composite
def base_urls(draw: st.DrawFn) -> str:
    host = draw(st.sampled_from(["api.example.com", "data.acme-weather.example",
                                 "xn--80aswg.example", "service.example.org"]))
    port = draw(st.sampled_from(["", ":443", ":8443", ":8080"]))
    path = draw(st.sampled_from(["", "/", "/v1", "/api/v2/", "/open.data/v1.2"]))
    return f"https://{host}{port}{path}"


def render_form(values: dict[str, str]) -> str:
    """GitHub's rendering of an issue form: ``### label``, value, ``_No response_`` if empty."""
    return "".join(f"### {label}\n\n{value or '_No response_'}\n\n"
                   for label, value in values.items())


@st.composite
def request_bodies(draw: st.DrawFn) -> str:
    """A rendered issue body of the request form."""
    values = {
        "Service name": draw(service_names()),
        "Integration type": draw(st.sampled_from([t.value for t in IntegrationType])),
        "Base URL": draw(base_urls()),
        "Authentication": draw(st.sampled_from([a.value for a in AuthType])),
        "Endpoints": "\n".join(draw(endpoint_lines())),
        "Requirements": draw(st.sampled_from(["", "Time out after 20 seconds.",
                                              "Respect 60 requests a minute."])),
        "Example usage": draw(st.sampled_from(["", "client.get_forecast(latitude=52.5)"])),
    }
    if draw(st.integers(0, 7)) == 0:
        values["Slug"] = draw(st.sampled_from(["my-service", "ab", "x1-y2-z3"]))
    return render_form(values)


def accepted(body: str) -> IntegrationRequest | None:
    """The request the form parser accepts from ``body``, or None."""
    return parse_issue_form(body).request


def requests() -> st.SearchStrategy[IntegrationRequest]:
    """Requests the form accepts (bodies it refuses are drawn again)."""
    return request_bodies().map(accepted).filter(lambda r: r is not None)  # type: ignore[return-value]
