"""Sealing, opening and indexing values."""

from __future__ import annotations

import secrets

import pytest

from veil.store.cipher import NONCE_BYTES, Cipher, CipherError

AAD = b"scope|<EMAIL_ADDRESS_1>"


@pytest.fixture
def cipher() -> Cipher:
    return Cipher(secrets.token_bytes(32))


@pytest.mark.parametrize("plaintext", ["ana@example.com", "", "Zoë 名前 🙂", "x" * 100_000])
def test_a_sealed_value_opens_to_itself(cipher: Cipher, plaintext: str) -> None:
    blob = cipher.seal(plaintext, AAD)

    assert cipher.open(blob, AAD) == plaintext
    assert len(blob) == NONCE_BYTES + len(plaintext.encode()) + 16


def test_sealing_twice_gives_different_blobs(cipher: Cipher) -> None:
    first = cipher.seal("ana@example.com", AAD)
    second = cipher.seal("ana@example.com", AAD)

    assert first[:NONCE_BYTES] != second[:NONCE_BYTES]
    assert first != second


def test_the_plaintext_does_not_appear_in_the_blob(cipher: Cipher) -> None:
    assert b"ana@example.com" not in cipher.seal("ana@example.com", AAD)


def test_a_blob_does_not_open_for_other_associated_data(cipher: Cipher) -> None:
    blob = cipher.seal("ana@example.com", AAD)

    with pytest.raises(CipherError):
        cipher.open(blob, b"scope|<EMAIL_ADDRESS_2>")


def test_a_blob_does_not_open_under_another_key(cipher: Cipher) -> None:
    blob = cipher.seal("ana@example.com", AAD)

    with pytest.raises(CipherError):
        Cipher(secrets.token_bytes(32)).open(blob, AAD)


@pytest.mark.parametrize("position", [0, NONCE_BYTES - 1, NONCE_BYTES, NONCE_BYTES + 5, -1])
def test_a_flipped_bit_anywhere_is_detected(cipher: Cipher, position: int) -> None:
    blob = bytearray(cipher.seal("ana@example.com", AAD))
    blob[position] ^= 0x01

    with pytest.raises(CipherError) as caught:
        cipher.open(bytes(blob), AAD)

    assert "ana@example.com" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("length", [0, 1, NONCE_BYTES, NONCE_BYTES + 15])
def test_a_truncated_blob_is_refused(cipher: Cipher, length: int) -> None:
    blob = cipher.seal("ana@example.com", AAD)

    with pytest.raises(CipherError):
        cipher.open(blob[:length], AAD)


def test_the_index_is_stable_per_key_and_scope(cipher: Cipher) -> None:
    index = cipher.index("scope-a", "ana@example.com")

    assert len(index) == 32
    assert cipher.index("scope-a", "ana@example.com") == index
    assert cipher.index("scope-b", "ana@example.com") != index
    assert cipher.index("scope-a", "bo@example.com") != index
    assert Cipher(secrets.token_bytes(32)).index("scope-a", "ana@example.com") != index


def test_the_index_keeps_scope_and_value_apart(cipher: Cipher) -> None:
    assert cipher.index("ab", "c") != cipher.index("a", "bc")
    assert cipher.index("", "abc") != cipher.index("abc", "")


def test_the_same_master_key_gives_the_same_cipher() -> None:
    master_key = secrets.token_bytes(32)
    blob = Cipher(master_key).seal("ana@example.com", AAD)

    assert Cipher(master_key).open(blob, AAD) == "ana@example.com"
    assert Cipher(master_key).index("s", "v") == Cipher(master_key).index("s", "v")


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_master_key_of_the_wrong_length_is_refused(length: int) -> None:
    with pytest.raises(ValueError):
        Cipher(bytes(length))
