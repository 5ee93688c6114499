"""Generated-test stand-in: writes outside its work dir (a world-writable dir of the image, and
the staged input it was copied from)."""

from pathlib import Path


def test_writes_to_var_tmp() -> None:
    Path("/var/tmp/ccb-escape").write_text("escaped")


def test_writes_into_the_staged_input() -> None:
    Path("/ccb/input/ccb-escape").write_text("escaped")
