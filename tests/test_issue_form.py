"""The issue-form parser, its URL-safety check, untrusted-text cleaning and the issue forms."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.request import (
    AuthType,
    Endpoint,
    IntegrationRequest,
    IntegrationType,
    ParsedRequest,
    SignatureEncoding,
)
from models.update_request import ChangeKind, ParsedUpdate, UpdateRequest
from rules.issue_form import (
    BODY,
    MAX_BODY_BYTES,
    MAX_ENDPOINTS,
    MAX_TEXT_CHARS,
    REQUEST_LABELS,
    REQUEST_REQUIRED,
    UPDATE_LABELS,
    UPDATE_REQUIRED,
    check_base_url,
    parse_issue_form,
    parse_update_form,
)
from rules.untrusted_text import clean_untrusted, is_invisible_char

ROOT = Path(__file__).resolve().parent.parent
BODIES = Path(__file__).resolve().parent / "fixtures" / "issue_bodies"
TEMPLATES = ROOT / ".github" / "ISSUE_TEMPLATE"
REQUIRED = set(REQUEST_REQUIRED)


def body(name: str) -> bytes:
    return (BODIES / name).read_bytes()


def fields(parsed: ParsedRequest | ParsedUpdate) -> set[str]:
    return {problem.field for problem in parsed.problems}


def messages(parsed: ParsedRequest | ParsedUpdate) -> str:
    return "\n".join(str(problem) for problem in parsed.problems)


def render(values: dict[str, str]) -> str:
    """GitHub's rendering of an issue form: ``### label``, value, ``_No response_`` if empty."""
    return "".join(
        f"### {label}\n\n{value or '_No response_'}\n\n" for label, value in values.items()
    )


# --- Valid bodies parse into the exact request -----------------------------------------------

VALID = {
    "valid_minimal.md": IntegrationRequest(
        service_name="Acme Weather",
        slug="acme-weather",
        integration_type=IntegrationType.API_CLIENT,
        base_url="https://api.example.com/v1",
        auth=AuthType.API_KEY,
        endpoints=[
            Endpoint(
                method="GET", path="/forecast/{city}", description="current forecast for a city"
            ),
            Endpoint(method="POST", path="/alerts", description="subscribe to weather alerts"),
        ],
    ),
    # CRLF, odd label case and spacing, text before the form, an unknown section, endpoints in
    # a fence with bullets and an en dash, a '###' line inside a code block.
    "valid_webhook_messy.md": IntegrationRequest(
        service_name="Payhook Payments v2",
        slug="payhook-payments-v2",
        integration_type=IntegrationType.WEBHOOK_RECEIVER,
        base_url="http://api.weather.example:8080",
        auth=AuthType.BEARER,
        endpoints=[
            Endpoint(method="POST", path="/events", description="payment events"),
            Endpoint(method="GET", path="/status", description=""),
        ],
        requirements="Verify signatures.\nRetry on 5xx.",
        example_usage=(
            "```python\n### this heading is code, not a section\n"
            'handler.on("payment.succeeded", record)\n```'
        ),
    ),
    # Zero-width, tag and bidi characters, NUL, HTML comments (one hiding a second Base URL),
    # image alt text, a link title, a hidden element and a title attribute: all removed.
    "valid_hidden_text.md": IntegrationRequest(
        service_name="SyncJob Inventory",
        slug="syncjob-inventory",
        integration_type=IntegrationType.SYNC_JOB,
        base_url="https://inventory.example.org",
        auth=AuthType.OAUTH2,
        endpoints=[Endpoint(method="GET", path="/items", description="list items")],
        requirements=(
            "Copy items nightly. ![](https://img.example.org/x.png) See "
            "[docs](https://docs.example.org).\n<span>Keep</span> gnitset done."
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_body_parses_into_the_exact_request(name: str) -> None:
    for raw in (body(name), body(name).decode("utf-8")):
        parsed = parse_issue_form(raw)
        assert parsed.problems == []
        assert parsed.ok
        assert parsed.request == VALID[name]


# --- Invalid bodies report every problem at once ---------------------------------------------

ONE_MIB_BODY = body("valid_minimal.md") * (1024 * 1024 // len(body("valid_minimal.md")) + 1)

INVALID: dict[str, tuple[bytes | str | None, set[str], list[str]]] = {
    # name: (body, fields with problems, phrases the messages must contain)
    "service missing": (body("invalid_service_missing.md"), {"Service name"}, ["required"]),
    "unknown type": (
        body("invalid_unknown_type.md"),
        {"Integration type"},
        ["'graphql-gateway'", "api-client, webhook-receiver, sync-job"],
    ),
    "ftp url": (body("invalid_ftp_url.md"), {"Base URL"}, ["'ftp:' is not allowed"]),
    "metadata url": (body("invalid_metadata_url.md"), {"Base URL"}, ["metadata"]),
    "localhost url": (body("invalid_localhost_url.md"), {"Base URL"}, ["loopback"]),
    "empty endpoints": (body("invalid_empty_endpoints.md"), {"Endpoints"}, ["required"]),
    "1 MiB body": (ONE_MIB_BODY, {BODY}, ["64 KiB", str(MAX_BODY_BYTES)]),
    "1 MiB text body": (ONE_MIB_BODY.decode("utf-8"), {BODY}, ["64 KiB"]),
    "undecodable bytes": (
        body("valid_minimal.md").replace(b"Acme", b"Ac\xff\xfeme"),
        {BODY},
        ["not valid UTF-8"],
    ),
    "unfilled template": (body("invalid_unfilled_template.md"), REQUIRED, ["required"]),
    "empty body": ("", REQUIRED, ["required"]),
    "no body": (None, REQUIRED, ["required"]),
    "junk": ("lorem ipsum\x00\x01 ### not a heading", REQUIRED, ["required"]),
    "malformed endpoints": (
        body("invalid_malformed_endpoints.md"),
        {"Endpoints"},
        [
            "line 2 'list all the cities please' is not in the form `METHOD /path - what it does`",
            "line 3: 'FETCH' is not an HTTP method",
            "line 4: the path '//evil.example/x' must start with a single '/'",
            "line 5 repeats line 1",
        ],
    ),
    "everything wrong": (
        body("invalid_everything_wrong.md"),
        {"Service name", "Base URL", "Authentication", "Integration type"},
        [
            "no identifier can be derived from '!!! ??? ™'",
            "add a `### Slug` field",
            "credentials",
            "'basic' is not a known",
            "appears 2 times",
        ],
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID))
def test_invalid_body_reports_all_its_problems(case: str) -> None:
    raw, expected_fields, phrases = INVALID[case]
    parsed = parse_issue_form(raw)
    assert not parsed.ok
    assert parsed.request is None
    assert fields(parsed) == expected_fields, messages(parsed)
    for phrase in phrases:
        assert phrase in messages(parsed)


def test_malformed_endpoint_lines_each_get_their_own_problem() -> None:
    parsed = parse_issue_form(body("invalid_malformed_endpoints.md"))
    assert [p.message.split(" ")[1].rstrip(":") for p in parsed.problems] == ["2", "3", "4", "5"]


def test_too_many_endpoints_and_over_long_fields_are_reported_together() -> None:
    text = render(
        {
            "Service name": "A" * 101,
            "Integration type": "api-client",
            "Base URL": "https://api.example.com/" + "x" * 2100,
            "Authentication": "none",
            "Webhook signature": "sha1",
            "Endpoints": "\n".join(f"GET /items/{n} - item {n}" for n in range(MAX_ENDPOINTS + 1)),
            "Requirements": "r" * (MAX_TEXT_CHARS + 1),
            "Example usage": "e" * (MAX_TEXT_CHARS + 1),
        }
    )
    parsed = parse_issue_form(text)
    assert fields(parsed) == set(REQUEST_LABELS) - {"Integration type", "Authentication", "Slug"}
    assert f"at most {MAX_ENDPOINTS} allowed" in messages(parsed)
    assert f"at most {MAX_TEXT_CHARS} allowed" in messages(parsed)
    assert "choose one of: sha256=hex, hex, base64" in messages(parsed)


@pytest.mark.parametrize("endpoints", [
    # CI's drawn request (a sync job whose only endpoints answer without records)
    "HEAD /?params:integer&cursor={cursor}&format=2&format=a%20b - uses `code` and *markdown*\n"
    "OPTIONS /{import}/at.{user-id} - 写入数据 🚀",
    "HEAD /items - the items",
])
def test_a_sync_job_without_an_endpoint_that_returns_records_is_told_which_to_add(
        endpoints: str) -> None:
    values = {"Service name": "Ledger", "Integration type": "sync-job",
              "Base URL": "https://api.example.com", "Authentication": "none",
              "Endpoints": endpoints}
    parsed = parse_issue_form(render(values))
    assert fields(parsed) == {"Endpoints"} and parsed.request is None
    assert "list the endpoint it reads (a GET, usually)" in messages(parsed)
    for kind in ("api-client", "webhook-receiver"):  # only a sync job reads records
        assert parse_issue_form(render({**values, "Integration type": kind})).ok
    with_get = parse_issue_form(render({**values, "Endpoints": endpoints + "\nGET /x - x"}))
    assert with_get.ok


def test_many_malformed_lines_are_summarised() -> None:
    values = dict.fromkeys(REQUEST_LABELS, "")
    values.update(
        {
            "Service name": "Acme",
            "Integration type": "api-client",
            "Base URL": "https://api.example.com",
            "Authentication": "none",
            "Endpoints": "\n".join(["nonsense"] * 30),
        }
    )
    parsed = parse_issue_form(render(values))
    assert fields(parsed) == {"Endpoints"}
    assert len(parsed.problems) == 11
    assert "20 more lines are malformed" in parsed.problems[-1].message


def test_multi_line_service_name_and_no_endpoint_lines() -> None:
    values = dict.fromkeys(REQUEST_LABELS, "")
    values.update(
        {
            "Service name": "Acme\nWeather",
            "Integration type": "api-client",
            "Base URL": "https://api.example.com",
            "Authentication": "none",
            "Endpoints": "```\n```",
        }
    )
    parsed = parse_issue_form(render(values))
    assert fields(parsed) == {"Service name", "Endpoints"}
    assert "single line" in messages(parsed)
    assert "no endpoints listed" in messages(parsed)


def test_adversarial_bodies_at_the_size_limit_do_not_raise() -> None:
    for unit in ("<!--", "<div hidden ", "[a](", "![", "&#", "```\n", "### Endpoints\n", "\u200b"):
        text = unit * (MAX_BODY_BYTES // len(unit.encode()))  # just under the limit
        parsed = parse_issue_form(text)
        assert isinstance(parsed, ParsedRequest)
        assert not parsed.ok


def test_non_text_bodies_are_problems_not_exceptions() -> None:
    for weird in (12, 3.5, ["### Service name"], {"a": 1}, object()):
        parsed = parse_issue_form(weird)  # type: ignore[arg-type]
        assert fields(parsed) == {BODY}
    assert parse_issue_form(bytearray(body("valid_minimal.md"))).ok  # type: ignore[arg-type]


# --- Base URL safety --------------------------------------------------------------------------

REFUSED_URLS = {
    # url: a word the reason must contain
    "ftp://files.example.com": "scheme",
    "file:///etc/passwd": "scheme",
    "gopher://example.com": "scheme",
    "javascript:alert(1)": "scheme",
    "api.example.com/v1": "no scheme",
    "https://": "no host",
    "http:///path": "no host",
    "https://user:pass@api.example.com": "credentials",
    "https://token@api.example.com": "credentials",
    "http://api.example.com\\@127.0.0.1": "backslash",
    "http://api.example.com:99999": "not a valid URL",
    "http://127.0.0.1": "loopback",
    "http://127.8.9.10:8080/x": "loopback",
    "http://[::1]/": "loopback",
    "http://localhost": "loopback",
    "http://LOCALHOST.:80": "loopback",
    "http://api.localhost": "loopback",
    "http://10.0.0.1": "private",
    "http://172.16.5.4": "private",
    "http://172.31.255.255": "private",
    "http://192.168.0.1": "private",
    "http://[fc00::1]": "private",
    "http://[fd12:3456::1]": "private",
    "http://169.254.1.1": "link-local",
    "http://[fe80::1]": "link-local",
    "http://[fe80::1%25eth0]": "zone",
    "http://169.254.169.254/latest/meta-data/": "metadata",
    "http://[fd00:ec2::254]": "metadata",
    "http://metadata.google.internal/computeMetadata/v1/": "metadata",
    "http://metadata": "metadata",
    "http://100.100.100.200": "metadata",
    "http://0.0.0.0": "unspecified",
    "http://0": "unspecified",
    "http://[::]": "unspecified",
    "http://224.0.0.1": "multicast",
    "http://[ff02::1]": "multicast",
    "http://240.0.0.1": "reserved",
    "http://255.255.255.255": "reserved",
    "http://100.64.0.1": "carrier-grade NAT",
    "http://192.0.2.10": "special-purpose",
    "http://2130706433": "loopback",  # decimal
    "http://0x7f.0.0.1": "loopback",  # hex
    "http://0x7f000001": "loopback",
    "http://0177.0.0.1": "loopback",  # octal
    "http://017700000001": "loopback",
    "http://127.1": "loopback",  # short
    "http://127.0.1": "loopback",
    "http://0xa9.0xfe.0xa9.0xfe": "metadata",
    "http://2852039166": "metadata",
    "http://[::ffff:127.0.0.1]": "loopback",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]": "loopback",
    "http://[::ffff:169.254.169.254]": "metadata",
    "http://[2002:7f00:1::]": "loopback",  # 6to4
    "http://[64:ff9b::a9fe:a9fe]": "metadata",  # NAT64
    "http://[::127.0.0.1]": "loopback",  # IPv4-compatible
    "http://[::ffff:8.8.8.8]": "write that IPv4 address itself",
    "http://\uff11\uff12\uff17\u3002\uff10\u3002\uff10\u3002\uff11": "loopback",  # full-width
    "http://256.0.0.1": "not a valid IPv4",
    "http://1.2.3.4.5": "not a valid IPv4",
    "http://0x7g.0.0.1": "not a valid IPv4",
    "http://08.0.0.1": "not a valid IPv4",
    "http://intranet": "single-label",
    "http://printer.local": "private-network domain",
    "http://db.corp.internal": "private-network domain",
    "http://127.0.0.1.nip.io": "resolves to loopback",
    "http://app.localtest.me": "resolves to loopback",
    "http://a..example.com": "not a valid host name",
    "http://exa_mple%2ecom": "characters not allowed",
    "https://api.example.com/v1 ": None,  # surrounding space is stripped: accepted
}

ACCEPTED_URLS = [
    "https://api.example.com/v1",
    "http://api.weather.example:8080",
    "https://api.example.com:443/v2/?format=json",
    "https://API.Example.COM",
    "https://bücher.example/api",
    "https://8.8.8.8/dns",
    "https://[2606:4700:4700::1111]/",
    "https://172.32.0.1",  # just outside 172.16/12
    "https://my-api.example.io./v1",
]


@pytest.mark.parametrize("url", sorted(REFUSED_URLS))
def test_refused_base_urls_say_why(url: str) -> None:
    reason = check_base_url(url)
    expected = REFUSED_URLS[url]
    if expected is None:
        assert reason is None
        return
    assert reason is not None, url
    assert expected in reason, reason


@pytest.mark.parametrize("url", ACCEPTED_URLS)
def test_public_base_urls_are_accepted(url: str) -> None:
    assert check_base_url(url) is None


def test_refused_url_reason_reaches_the_issue_problem() -> None:
    text = body("valid_minimal.md").decode().replace("https://api.example.com/v1", "http://127.1")
    parsed = parse_issue_form(text)
    assert fields(parsed) == {"Base URL"}
    assert "127.0.0.1 (written as '127.1') is a loopback address" in messages(parsed)


@given(st.ip_addresses())
def test_numeric_hosts_are_accepted_only_when_global(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> None:
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    accepted = check_base_url(f"https://{host}/") is None
    if accepted:
        assert ip.is_global and not ip.is_multicast and not ip.is_reserved


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_numeric_spellings_of_an_ipv4_address_get_one_verdict(number: int) -> None:
    dotted = str(ipaddress.IPv4Address(number))
    a, b, c, d = (int(part) for part in dotted.split("."))
    spellings = [
        str(number),
        hex(number),
        f"0{number:o}",
        f"{a:#x}.{b:#x}.{c:#x}.{d:#x}",
        f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",
        f"{a}.{(b << 16) + (c << 8) + d}",
        f"{a}.{b}.{(c << 8) + d}",
    ]
    verdict = check_base_url(f"http://{dotted}") is None
    for spelling in spellings:
        assert (check_base_url(f"http://{spelling}") is None) == verdict, spelling


URLISH = st.builds(
    "".join,
    st.lists(
        st.sampled_from(
            [
                "http://",
                "https://",
                "ftp:",
                "//",
                "[",
                "]",
                ":",
                "::",
                "@",
                "%",
                "0x",
                "0",
                "7",
                "f",
                "g",
                "8",
                "9",
                "255",
                "256",
                ".",
                "localhost",
                "\u3002",
                "\uff11",
                "/",
                "?",
                "#",
                "\\",
                " ",
                "\x00",
                "\u00e9",
                "ffff",
                "xn--",
            ]
        ),
        max_size=20,
    ),
)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=300), URLISH))
def test_check_base_url_never_raises(url: str) -> None:
    reason = check_base_url(url)
    assert reason is None or isinstance(reason, str)


# --- Property: the parsers never raise ---------------------------------------------------------

LABEL_LINES = st.sampled_from([f"### {label}" for label in (*REQUEST_LABELS, *UPDATE_LABELS)])
FORMISH_BODIES = st.lists(
    st.one_of(
        LABEL_LINES,
        st.sampled_from(
            [
                "_No response_",
                "api-client",
                "bearer",
                "https://api.example.com",
                "GET /x - y",
                "```",
                "<!--",
                "-->",
                "fix",
                "acme",
                "http://127.1",
                "",
            ]
        ),
        st.text(max_size=40),
    ),
    max_size=40,
).map("\n".join)

NEVER_RAISE = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def assert_clean_result(parsed: ParsedRequest | ParsedUpdate) -> None:
    assert isinstance(parsed, ParsedRequest | ParsedUpdate)
    assert "Internal error" not in messages(parsed)
    assert parsed.ok == (not parsed.problems)


@NEVER_RAISE
@given(st.one_of(st.text(), FORMISH_BODIES))
def test_parsers_never_raise_on_text(text: str) -> None:
    assert_clean_result(parse_issue_form(text))
    assert_clean_result(parse_update_form(text))


@NEVER_RAISE
@given(st.binary())
def test_parsers_never_raise_on_bytes(raw: bytes) -> None:
    assert_clean_result(parse_issue_form(raw))
    assert_clean_result(parse_update_form(raw))


@NEVER_RAISE
@given(st.lists(st.sampled_from(REQUEST_LABELS), unique=True), st.data())
def test_rendered_forms_with_random_values_never_raise(
    labels: list[str], data: st.DataObject
) -> None:
    values = {label: data.draw(st.text(max_size=80), label=label) for label in labels}
    parsed = parse_issue_form(render(values))
    assert_clean_result(parsed)
    if parsed.ok:
        assert parsed.request is not None
        assert check_base_url(parsed.request.base_url) is None


# --- Untrusted text ----------------------------------------------------------------------------

CLEANING = {
    "zero\u200bwidth\u200c\u200d\ufeff\u2060": "zerowidth",
    "bidi \u202eevil\u202c \u2066iso\u2069 \u200emark": "bidi evil iso mark",
    "nul\x00 bell\x07 esc\x1b[31m tab\tnew\r\nline": "nul bell esc[31m tab\tnew\nline",
    "tags\U000e0069\U000e0067\U000e006e sel\ufe0f\U000e0100": "tags sel",
    "soft\u00adhyphen": "softhyphen",
    "a <!-- hidden --> b": "a  b",
    "a <!-- unterminated\nrest": "a ",
    "![do evil](https://x.example/i.png)": "![](https://x.example/i.png)",
    "![do evil][logo]": "![][logo]",
    "[docs](https://x.example \"run rm -rf\") and [b](<https://y.example> 't')": (
        "[docs](https://x.example) and [b](<https://y.example>)"
    ),
    '[ref]: https://x.example "secret title"': "[ref]: https://x.example",
    '<img src="i.png" alt="evil" title="t" aria-label="l" data-x="y">': '<img src="i.png">',
    '<a href="https://x.example" title="hidden instruction">x</a>': '<a href="https://x.example">x</a>',
    "<div hidden>secret</div>seen": "seen",
    "<p hidden>unclosed\nsecret": "",
    "&#x200B;&#8203;&zwnj;&shy;&#65;": "A",
    "&#60;!-- stays visible --&#62;": "&#60;!-- stays visible --&#62;",
    "<!--\n```\nhidden fence\n```\n-->after": "after",
    "```\n<b class='x'>code</b>\n```": "```\n<b class='x'>code</b>\n```",
    "List<String> a < b and c > d": "List<String> a < b and c > d",
}


@pytest.mark.parametrize("raw", sorted(CLEANING))
def test_clean_untrusted_removes_hidden_channels(raw: str) -> None:
    assert clean_untrusted(raw) == CLEANING[raw]


@NEVER_RAISE
@given(st.text())
def test_clean_untrusted_leaves_no_invisible_characters(text: str) -> None:
    cleaned = clean_untrusted(text)
    assert not any(is_invisible_char(char) for char in cleaned)
    assert len(cleaned) <= len(text)
    cleaned.encode("utf-8")  # no lone surrogates left


@NEVER_RAISE
@given(st.text(alphabet=st.sampled_from(list("<!-->[]()\"' hidden=`\n\u200b&#;x")), max_size=200))
def test_clean_untrusted_is_stable(text: str) -> None:
    once = clean_untrusted(text)
    assert clean_untrusted(once) == once


# --- The issue forms and the parser cannot drift ------------------------------------------------


def load_form(name: str) -> dict[str, Any]:
    form = yaml.safe_load((TEMPLATES / name).read_text(encoding="utf-8"))
    assert isinstance(form, dict)
    return form


def inputs(form: dict[str, Any]) -> list[dict[str, Any]]:
    return [element for element in form["body"] if element["type"] != "markdown"]


@pytest.mark.parametrize(
    ("name", "label", "labels", "required"),
    [
        ("integration-request.yml", "integration-request", REQUEST_LABELS, REQUEST_REQUIRED),
        ("integration-update.yml", "integration-update", UPDATE_LABELS, UPDATE_REQUIRED),
    ],
)
def test_issue_form_is_a_valid_github_form_matching_the_parser(
    name: str, label: str, labels: tuple[str, ...], required: tuple[str, ...]
) -> None:
    form = load_form(name)
    assert {"name", "description", "body"} <= set(form)
    assert set(form) <= {"name", "description", "title", "labels", "assignees", "body", "projects"}
    assert form["labels"] == [label]
    elements = inputs(form)
    assert all(e["type"] in {"input", "dropdown", "textarea", "checkboxes"} for e in elements)
    ids = [e["id"] for e in elements]
    assert len(ids) == len(set(ids))
    assert tuple(e["attributes"]["label"] for e in elements) == labels
    assert (
        tuple(
            e["attributes"]["label"] for e in elements if e.get("validations", {}).get("required")
        )
        == required
    )


def test_dropdown_options_are_the_enum_values() -> None:
    request = {e["attributes"]["label"]: e for e in inputs(load_form("integration-request.yml"))}
    update = {e["attributes"]["label"]: e for e in inputs(load_form("integration-update.yml"))}
    options = {
        "Integration type": (request["Integration type"], IntegrationType),
        "Authentication": (request["Authentication"], AuthType),
        "Kind of change": (update["Kind of change"], ChangeKind),
    }
    for element, enum in options.values():
        assert element["type"] == "dropdown"
        assert element["attributes"]["options"] == [member.value for member in enum]
    config = yaml.safe_load((TEMPLATES / "config.yml").read_text(encoding="utf-8"))
    assert config["blank_issues_enabled"] is False


REQUEST_VALUES = {
    "service-name": "Acme Weather",
    "slug": "",
    "integration-type": "sync-job",
    "base-url": "https://api.weather.example/v2",
    "authentication": "bearer",
    "webhook-signature": "base64",
    "endpoints": "GET /forecast/{city} - current forecast\nDELETE /alerts/{id} - cancel an alert",
    "requirements": "Respect the 60 requests per minute limit.",
    "example-usage": "client.forecast('Oslo')",
}


def test_rendering_the_request_form_and_parsing_it_gives_the_values_back() -> None:
    elements = inputs(load_form("integration-request.yml"))
    assert {e["id"] for e in elements} == set(REQUEST_VALUES)
    parsed = parse_issue_form(
        render({e["attributes"]["label"]: REQUEST_VALUES[e["id"]] for e in elements})
    )
    assert parsed.problems == []
    assert parsed.request == IntegrationRequest(
        service_name="Acme Weather",
        slug="acme-weather",
        integration_type=IntegrationType.SYNC_JOB,
        base_url="https://api.weather.example/v2",
        auth=AuthType.BEARER,
        endpoints=[
            Endpoint(method="GET", path="/forecast/{city}", description="current forecast"),
            Endpoint(method="DELETE", path="/alerts/{id}", description="cancel an alert"),
        ],
        requirements="Respect the 60 requests per minute limit.",
        example_usage="client.forecast('Oslo')",
        signature=SignatureEncoding.BASE64,
    )


def test_every_dropdown_option_of_the_request_form_parses() -> None:
    elements = inputs(load_form("integration-request.yml"))
    for element in elements:
        for option in element["attributes"].get("options", []):
            values = {e["attributes"]["label"]: REQUEST_VALUES[e["id"]] for e in elements}
            values[element["attributes"]["label"]] = option
            parsed = parse_issue_form(render(values))
            assert parsed.ok, messages(parsed)


def test_rendering_the_request_form_empty_reports_exactly_the_required_fields() -> None:
    elements = inputs(load_form("integration-request.yml"))
    parsed = parse_issue_form(render({e["attributes"]["label"]: "" for e in elements}))
    required = {e["attributes"]["label"] for e in elements if e["validations"]["required"]}
    assert fields(parsed) == required == REQUIRED


def test_rendering_the_update_form_and_parsing_it_gives_the_values_back() -> None:
    values = {
        "integration": "acme-weather",
        "kind-of-change": "breaking",
        "change": "Rename forecast() to get_forecast().",
        "endpoints": "GET /forecast/{city}/hourly - hourly forecast",
    }
    elements = inputs(load_form("integration-update.yml"))
    assert {e["id"] for e in elements} == set(values)
    parsed = parse_update_form(
        render({e["attributes"]["label"]: values[e["id"]] for e in elements})
    )
    assert parsed.problems == []
    assert parsed.ok
    assert parsed.update == UpdateRequest(
        slug="acme-weather",
        kind=ChangeKind.BREAKING,
        change="Rename forecast() to get_forecast().",
        endpoints=[
            Endpoint(method="GET", path="/forecast/{city}/hourly", description="hourly forecast")
        ],
    )
    without_endpoints = {**values, "endpoints": ""}
    parsed = parse_update_form(
        render({e["attributes"]["label"]: without_endpoints[e["id"]] for e in elements})
    )
    assert parsed.update is not None and parsed.update.endpoints == []


def test_update_form_reports_every_problem() -> None:
    parsed = parse_update_form(
        render(
            {
                "Integration": "Not A Slug!",
                "Kind of change": "refactor",
                "Change": "",
                "Endpoints": "GRAB /x - y",
            }
        )
    )
    assert fields(parsed) == {"Integration", "Kind of change", "Change", "Endpoints"}
    assert "feature, fix, breaking" in messages(parsed)
    assert fields(parse_update_form(None)) == set(UPDATE_REQUIRED)
    assert fields(parse_update_form(b"\xc3\x28")) == {BODY}
