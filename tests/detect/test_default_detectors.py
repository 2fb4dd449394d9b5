from veil.detect.analyzer import Analyzer
from veil.detect.phone import PhoneDetector
from veil.detect.registry import default_detectors


def test_every_detector_has_a_distinct_name() -> None:
    names = [detector.name for detector in default_detectors()]
    assert len(names) == len(set(names)) == 11


def test_phone_region_reaches_the_phone_detector() -> None:
    (phone,) = [d for d in default_detectors(phone_region="GB") if isinstance(d, PhoneDetector)]
    assert phone.region == "GB"


def test_each_call_builds_new_detectors() -> None:
    assert default_detectors()[0] is not default_detectors()[0]


def test_all_entity_types_are_found_in_one_text() -> None:
    text = (
        "Mail ann@example.com, call (415) 555-2671, card 4111 1111 1111 1111, "
        "IBAN GB82WEST12345698765432, SSN 536-22-8437, host 10.1.2.3, "
        "key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z, id AKIAIOSFODNN7EXAMPLE "
        "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY, "
        "jwt eyJhbGciOiJub25lIn0.eyJzdWIiOiI0MiJ9. password=hunter2\n"
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----"
    )
    found = {span.entity_type for span in Analyzer(default_detectors()).analyze(text)}
    assert found == {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
        "API_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "JWT",
        "PASSWORD",
        "PRIVATE_KEY",
    }
