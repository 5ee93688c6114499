"""The status page's HTML: people's names and versions stay text (hostile ones included),
the phone layout is there, and the forge serves the pages its links open."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from forge.testing import running_forge
from infra.settings import Settings
from models.deployment import Color, DeploymentInfo, DeploymentStatus, Environment
from starter.status_page import Row, render

ALLOWED = {"html", "head", "meta", "title", "style", "body", "h1", "p", "small", "a", "table",
           "thead", "tbody", "tr", "th", "td", "b", "br", "span"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.text: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _row(name: str, version: str) -> Row:
    when = datetime(2026, 12, 2, 3, 0, tzinfo=UTC)
    live = DeploymentInfo(id=1, integration_slug="acme", version=version,
                          environment=Environment.DEVELOPMENT, color=Color.BLUE,
                          status=DeploymentStatus.LIVE, endpoint="127.0.0.1:1",
                          created_at=when, updated_at=when)
    return Row(slug="acme", name=name, state="ACTIVE", version=version,
               live={"development": live}, health={"development": "healthy"}, last=live,
               spend_usd=0.25, issue_url="http://127.0.0.1:1/demo/integrations/issues/1")


@settings(max_examples=80, deadline=None)
@given(name=st.text(max_size=60), version=st.text(max_size=20))
def test_names_and_versions_stay_text(name: str, version: str) -> None:
    page = render([_row(name, version)], Settings())
    parsed = Tags()
    parsed.feed(page)
    assert parsed.tags <= ALLOWED, parsed.tags - ALLOWED
    text = "".join(parsed.text)
    assert name.replace("\r", "\n").strip() in text.replace("\r", "\n") or not name.strip()
    assert "http://127.0.0.1:1/demo/integrations/issues/1" in parsed.hrefs


def test_the_page_refreshes_and_reads_on_a_phone() -> None:
    page = render([], Settings())
    assert '<meta http-equiv="refresh" content="30">' in page
    assert 'name="viewport"' in page and "@media (max-width:700px)" in page
    assert "No integrations yet." in page


def test_the_forge_serves_the_pages_its_links_name(tmp_path: Path) -> None:
    with running_forge(tmp_path / "forge") as forge:
        repo = forge.github("alice").get_repo(forge.full_name)
        issue = repo.create_issue(title="<b>Acme</b> please", body="<script>x()</script>")
        issue.create_comment("a comment")
        with httpx.Client(timeout=10, trust_env=False) as http:
            page = http.get(issue.html_url)
            missing = http.get(issue.html_url.replace("/issues/", "/nothing/"))
    assert page.status_code == 200
    assert "&lt;b&gt;Acme&lt;/b&gt; please" in page.text and "<script>" not in page.text
    assert "a comment" in page.text and "alice" in page.text
    assert missing.status_code == 404
