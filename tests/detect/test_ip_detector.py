import pytest

from veil.detect.ip import IpAddressDetector

DETECTOR = IpAddressDetector()


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("host 192.168.0.1 is up", ["192.168.0.1"]),
        ("ends a sentence 10.0.0.1.", ["10.0.0.1"]),
        ("10.0.0.1:8080", ["10.0.0.1"]),
        ("[8.8.8.8]", ["8.8.8.8"]),
        ("version 1.2.3.4", ["1.2.3.4"]),  # four-part versions are valid addresses: accepted
        ("localhost ::1", ["::1"]),
        ("2001:db8::ff00:42:8329", ["2001:db8::ff00:42:8329"]),
        ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", ["2001:0db8:85a3:0000:0000:8a2e:0370:7334"]),
        # both readings are reported; the Analyzer keeps the longer one
        ("mapped ::ffff:192.0.2.1 here", ["192.0.2.1", "::ffff:192.0.2.1"]),
        ("link fe80::1%eth0", ["fe80::1"]),
        ("[2001:db8::1]:443", ["2001:db8::1"]),
        # negatives beside the positives
        ("999.1.1.1", []),
        ("256.0.0.1", []),
        ("01.02.03.04", []),  # leading zeros are ambiguous
        ("version 1.2.3", []),
        ("1.2.3.4.5", []),
        ("v1.2.3.4", []),
        ("at 12:30:45", []),
        ("mac 00:1A:2B:3C:4D:5E", []),
        ("std::vector and Foo::bar", []),
        ("dead::beef", []),  # valid IPv6 but no digit: reads as prose
        ("ratio 3:2", []),
    ],
)
def test_ip(text: str, expected: list[str]) -> None:
    assert found(text) == expected
