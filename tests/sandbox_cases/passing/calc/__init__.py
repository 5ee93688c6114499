"""A tiny package the sandbox tests run: arithmetic with one error path."""


def add(a: int, b: int) -> int:
    return a + b


def divide(a: float, b: float) -> float:
    if b == 0:
        raise ValueError("cannot divide by zero")
    return a / b


def unused_branch(flag: bool) -> str:
    if flag:
        return "yes"
    return "no"
