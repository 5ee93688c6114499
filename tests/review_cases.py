"""Changes to the sample integration that the review tests push: untested code, a bare except."""

from __future__ import annotations

from tests.update_helpers import ROOT


def untested_module(functions: int = 60) -> dict[str, str]:
    """A documented module of small functions no test calls: it lowers coverage."""
    body = ['"""Unit conversions nobody tests yet."""', "", "from __future__ import annotations",
            ""]
    for index in range(functions):
        body += ["", f"def convert_{index}(value: float) -> float:",
                 f'    """Scale ``value`` by {index + 2}."""',
                 f"    doubled = value * {index + 2}", "    return doubled + 0.0", ""]
    return {f"{ROOT}/acme_weather/units.py": "\n".join(body).rstrip() + "\n"}


def bare_except_module() -> dict[str, str]:
    """A module with a bare ``except:`` and an HTTP call without a timeout (line 9 and 8)."""
    text = ('"""Fetches a page."""\n\nfrom __future__ import annotations\n\nimport httpx\n\n\n'
            "def fetch(url: str) -> str:\n    try:\n        return httpx.get(url).text\n"
            "    except:  # noqa: E722\n        return ''\n")
    return {f"{ROOT}/acme_weather/fetch.py": text}
