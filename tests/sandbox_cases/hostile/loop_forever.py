"""Generated-test stand-in: never ends."""


def test_loops_forever() -> None:
    count = 0
    while True:
        count += 1
