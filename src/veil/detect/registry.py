"""The detectors Veil runs by default, in tie-break order (see `Analyzer`)."""

from __future__ import annotations

from veil.detect.address import AddressDetector
from veil.detect.api_key import ApiKeyDetector
from veil.detect.aws_key import AwsKeyDetector
from veil.detect.base import Detector
from veil.detect.card import CardDetector
from veil.detect.email import EmailDetector
from veil.detect.iban import IbanDetector
from veil.detect.ip import IpAddressDetector
from veil.detect.jwt import JwtDetector
from veil.detect.names import NameDetector
from veil.detect.names_addressed import AddressedNameDetector
from veil.detect.names_shapes import NameShapeDetector
from veil.detect.password import PasswordDetector
from veil.detect.phone import PhoneDetector
from veil.detect.places import PlaceDetector
from veil.detect.private_key import PrivateKeyDetector
from veil.detect.ssn import SsnDetector


def default_detectors(*, phone_region: str = "US") -> tuple[Detector, ...]:
    """Secrets first (most specific), then identifiers with checksums, then looser shapes."""
    return (
        PrivateKeyDetector(),
        JwtDetector(),
        ApiKeyDetector(),
        AwsKeyDetector(),
        EmailDetector(),
        IbanDetector(),
        CardDetector(),
        SsnDetector(),
        PhoneDetector(region=phone_region),
        IpAddressDetector(),
        PasswordDetector(),
    )


def prose_detectors() -> tuple[Detector, ...]:
    """People and places in free text, by rules and name lists (the NER model comes apart:
    it is loaded once per process and configured by name)."""
    return (AddressDetector(), NameDetector(), NameShapeDetector(), AddressedNameDetector(), PlaceDetector())
