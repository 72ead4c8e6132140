"""The outbound-request guard: every address class it refuses, host names that resolve
inside, metadata hosts, URL shapes, and what ``allow_private`` does and does not open."""

from __future__ import annotations

import ipaddress

import pytest

from servio.platform.webhooks_out import (
    TargetRefused,
    TargetUnresolvable,
    address_class,
    parse_target,
    refusal,
    vet,
)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1", "loopback"),
        ("127.9.9.9", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.10", "private"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("100.64.0.1", "carrier-grade NAT"),
        ("100.127.255.254", "carrier-grade NAT"),
        ("fc00::1", "unique-local"),
        ("fd12:3456::1", "unique-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),  # noqa: S104
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("169.254.169.254", "cloud metadata"),
        ("169.254.170.2", "cloud metadata"),
        ("100.100.100.200", "cloud metadata"),
        ("fd00:ec2::254", "cloud metadata"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "cloud metadata"),
        ("2002:7f00:1::", "loopback"),  # 6to4 wrapping 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 wrapping 10.0.0.1
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_classes(address: str, expected: str | None) -> None:
    assert address_class(ipaddress.ip_address(address)) == expected


@pytest.mark.parametrize(
    "address", ["127.0.0.1", "::1", "10.0.0.1", "192.168.0.5", "100.64.1.1", "fd00::5"]
)
def test_allow_private_opens_loopback_and_private_networks(address: str) -> None:
    ip = ipaddress.ip_address(address)
    assert refusal(ip, allow_private=False) is not None
    assert refusal(ip, allow_private=True) is None


@pytest.mark.parametrize(
    "address",
    ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "224.0.0.1", "240.0.0.1"],  # noqa: S104
)
def test_allow_private_never_opens_metadata_multicast_or_unspecified(address: str) -> None:
    assert refusal(ipaddress.ip_address(address), allow_private=True) is not None


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("ftp://hooks.example.com/x", "must use"),
        ("file:///etc/passwd", "must use"),
        ("hooks.example.com/x", "must use"),
        ("http://", "must use"),
        ("https://user:pw@hooks.example.com/x", "credentials"),
        ("https://hooks.example.com/x#frag", "fragment"),
        ("https://metadata.google.internal/computeMetadata/v1/", "metadata"),
        ("https://METADATA.google.internal./x", "metadata"),
        ("https://metadata/x", "metadata"),
        ("https://[::1", "not a valid URL"),
    ],
)
def test_url_shapes_refused(url: str, fragment: str) -> None:
    with pytest.raises(TargetRefused, match=fragment):
        parse_target(url, allow_http=False)


def test_http_only_where_allowed() -> None:
    with pytest.raises(TargetRefused, match="https"):
        parse_target("http://hooks.example.com/x", allow_http=False)
    target = parse_target("http://hooks.example.com:8080/x", allow_http=True)
    assert (target.host, target.port) == ("hooks.example.com", 8080)
    assert parse_target("https://hooks.example.com/x", allow_http=False).port == 443


def _resolver(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, port: int) -> list[str]:
        if host not in answers:
            raise OSError(f"no such host {host}")
        return answers[host]

    return resolve


@pytest.mark.parametrize(
    ("host", "addresses"),
    [
        ("internal.example.com", ["10.0.0.7"]),
        ("sneaky.example.com", ["93.184.216.34", "127.0.0.1"]),  # one bad address is enough
        ("v6.example.com", ["2606:4700::1", "fd00::1"]),
        ("meta.example.com", ["169.254.169.254"]),
        ("mapped.example.com", ["::ffff:192.168.0.1"]),
    ],
)
async def test_names_that_resolve_inside_are_refused(host: str, addresses: list[str]) -> None:
    target = parse_target(f"https://{host}/hook", allow_http=False)
    with pytest.raises(TargetRefused, match=host):
        await vet(target, allow_private=False, resolve=_resolver({host: addresses}))


async def test_public_names_pass_ipv4_first() -> None:
    target = parse_target("https://hooks.example.com/hook", allow_http=False)
    found = await vet(
        target,
        allow_private=False,
        resolve=_resolver({"hooks.example.com": ["2606:4700::1", "93.184.216.34"]}),
    )
    assert [str(a) for a in found] == ["93.184.216.34", "2606:4700::1"]


async def test_unresolvable_names_are_told_apart_from_refused_ones() -> None:
    target = parse_target("https://nowhere.example.com/hook", allow_http=False)
    with pytest.raises(TargetUnresolvable):
        await vet(target, allow_private=False, resolve=_resolver({}))


async def test_the_system_resolver_sees_localhost_as_loopback() -> None:
    target = parse_target("http://localhost:9/hook", allow_http=True)
    with pytest.raises(TargetRefused, match="loopback"):
        await vet(target, allow_private=False)
    assert await vet(target, allow_private=True)


@pytest.mark.parametrize(
    "url", ["http://2130706433/", "http://0x7f.1/", "http://017700000001/", "http://[::1]/"]
)
async def test_unusual_spellings_of_loopback_are_caught_after_resolution(url: str) -> None:
    with pytest.raises(TargetRefused, match="loopback"):
        await vet(parse_target(url, allow_http=True), allow_private=False)
