from core import tokens
from tests.factories import TOKEN_PATTERN


def test_generated_token_matches_the_documented_pattern():
    token = tokens.build_token(tokens.generate_key(), "k2p_")
    assert TOKEN_PATTERN.fullmatch(token)


def test_token_with_a_wrong_checksum_is_rejected_before_any_lookup():
    token = tokens.build_token(tokens.generate_key(), "k2p_")
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert tokens.parse_token(tampered, "k2p_") is None


def test_parse_returns_the_lookup_key():
    key = tokens.generate_key()
    assert tokens.parse_token(tokens.build_token(key, "k2p_"), "k2p_").key == key


def test_digest_is_keyed_by_the_pepper():
    token = tokens.build_token(tokens.generate_key(), "k2p_")
    assert tokens.hash_token(token, "one") != tokens.hash_token(token, "two")
    assert tokens.digests_match(token, tokens.hash_token(token, "one"), "one")
