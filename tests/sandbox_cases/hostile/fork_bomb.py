"""Generated-test stand-in: a fork bomb. Every process keeps forking forever; children never
return to pytest. Only the sandbox's process limit stops it."""

import os
import time


def _keep_forking() -> None:
    try:
        while True:
            try:
                os.fork()
            except OSError:
                time.sleep(0.2)
    finally:
        os._exit(0)


def test_forks_without_limit() -> None:
    while True:
        if os.fork() == 0:
            _keep_forking()
