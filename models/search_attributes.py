"""The bot's search attributes: which integration a workflow works on, and its state."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

INTEGRATION_SLUG = SearchAttributeKey.for_keyword("CcbIntegrationSlug")
INTEGRATION_STATE = SearchAttributeKey.for_keyword("CcbState")

# name -> type, as `temporal server start-dev --search-attribute` and the operator API take them
SEARCH_ATTRIBUTES: dict[str, str] = {
    INTEGRATION_SLUG.name: "Keyword",
    INTEGRATION_STATE.name: "Keyword",
}
