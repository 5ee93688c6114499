"""``python -m forge``: serve the local GitHub-compatible forge with the bot's settings."""

from __future__ import annotations

import logging

from forge.server import serve
from infra.settings import get_settings


def main() -> None:
    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    serve(settings)


if __name__ == "__main__":
    main()
