"""Generated-test stand-in: allocates (and touches) 4 GB."""


def test_allocates_4gb() -> None:
    block = bytearray(4 * 1024**3)
    assert len(block) == 4 * 1024**3
