"""Generated-test stand-in: wants a network interface besides the loopback."""

import os


def test_sees_a_network_interface_besides_lo() -> None:
    interfaces = sorted(os.listdir("/sys/class/net"))
    with open("/proc/net/dev") as dev:
        in_proc = sorted(line.split(":")[0].strip() for line in dev.readlines()[2:])
    others = [name for name in interfaces + in_proc if name != "lo"]
    assert others, f"interfaces seen: {interfaces}, /proc/net/dev: {in_proc}"
