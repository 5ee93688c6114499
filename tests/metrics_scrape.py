"""Reading what a Prometheus endpoint serves, and what the Grafana dashboard asks of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

DASHBOARD = Path(__file__).resolve().parent.parent / "docs" / "grafana-dashboard.json"
SUFFIXES = ("_bucket", "_sum", "_count")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def scrape(url: str) -> dict[str, float]:
    """Every sample of ``url``, as the exposition writes it (the names Prometheus stores):
    ``name{labels}`` -> value."""
    samples: dict[str, float] = {}
    for line in httpx.get(url, timeout=10).text.splitlines():
        found = SAMPLE.match(line)
        if found:
            samples[f"{found[1]}{found[2] or '{}'}"] = float(found[3])
    return samples


def names(samples: dict[str, float]) -> set[str]:
    """The metric names of ``samples``, histogram series folded into their histogram."""
    found = set()
    for key in samples:
        name = key.split("{", 1)[0]
        found.add(name)
        for suffix in SUFFIXES:
            if name.endswith(suffix):
                found.add(name.removesuffix(suffix))
    return found


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(value for key, value in samples.items()
               if key.split("{", 1)[0] == name and all(w in key for w in wanted))


def dashboard_metrics() -> set[str]:
    """Every metric name the dashboard's queries use (histogram suffixes removed)."""
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    found = set()
    for expr in exprs:
        for name in re.findall(r"\b((?:ccb|temporal)_[a-z0-9_]+)", expr):
            for suffix in SUFFIXES:
                name = name.removesuffix(suffix)
            found.add(name)
    return found
