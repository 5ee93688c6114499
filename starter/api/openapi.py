"""``python -m starter.api.openapi``: write the API's OpenAPI document to
``starter/api/openapi.json`` (committed; a test fails when it differs from what is served)."""

from __future__ import annotations

from infra.settings import get_settings
from starter.api import OPENAPI_PATH, openapi_text


def main() -> None:
    from starter.app import create_app

    OPENAPI_PATH.write_text(openapi_text(create_app(get_settings())), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH}")


if __name__ == "__main__":
    main()
