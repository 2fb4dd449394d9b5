import pytest

from veil.detect.password import PasswordDetector

DETECTOR = PasswordDetector()


def found(text: str) -> list[str]:
    return [text[span.start : span.end] for span in DETECTOR.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgres://admin:s3cr3t@db.example.com:5432/app", ["s3cr3t"]),
        ("redis://:hunter2@cache:6379/0", ["hunter2"]),
        ("https://bob:p@ss:w0rd@example.com/", ["p@ss:w0rd"]),
        ("password=hunter2", ["hunter2"]),
        ("password = hunter2.", ["hunter2"]),
        ("passwd: hunter2", ["hunter2"]),
        ("pwd=1234", ["1234"]),
        ('{"password": "correct horse battery"}', ["correct horse battery"]),
        ("'password': 'hunter2'", ["hunter2"]),
        ('DB_PASSWORD="hunter2"', ["hunter2"]),
        ("dbPassword: Tr0ub4dor&3", ["Tr0ub4dor&3"]),
        ("Server=db;User Id=sa;Password=myP@ss;", ["myP@ss"]),
        ("client_secret: 9f8e7d6c5b4a", ["9f8e7d6c5b4a"]),
        ("GITHUB_TOKEN=abcdef0123456789", ["abcdef0123456789"]),
        ("api_key=ZXhhbXBsZWtleQ", ["ZXhhbXBsZWtleQ"]),
        ("aws_secret_access_key := Q29kZVNlY3JldA", ["Q29kZVNlY3JldA"]),
        ("?user=bob&token=abcdefgh1234&x=1", ["abcdefgh1234"]),
        ("Authorization: Bearer abcdef0123456789abcdef", ["abcdef0123456789abcdef"]),
        # negatives beside the positives
        ("please send a password reset link", []),
        ("password: ********", []),
        ('"password": ""', []),
        ("password: null", []),
        ("def login(password: str) -> None:", []),
        ("password = get_password()", []),
        ("password=self.password", []),
        ("login(user=user, password=password)", []),
        ("password=${DB_PASSWORD}", []),
        ("password: {{ vault_password }}", []),
        ("max_tokens: 100", []),
        ("token: 42", []),  # short values of non-password keys are counts and flags
        ("Secret: everything", []),
        ("if password == 'x':", []),
        ("https://example.com:8080/path", []),
    ],
)
def test_password(text: str, expected: list[str]) -> None:
    assert found(text) == expected
