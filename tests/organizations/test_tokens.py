from organizations import tokens
from tests.factories import TOKEN_PATTERN


def test_generated_token_matches_the_documented_pattern():
    token = tokens.build_token(tokens.generate_key())
    assert TOKEN_PATTERN.fullmatch(token)


def test_token_with_a_wrong_checksum_is_rejected_before_any_lookup():
    token = tokens.build_token(tokens.generate_key())
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert tokens.parse_token(tampered) is None


def test_parse_returns_the_lookup_key():
    key = tokens.generate_key()
    assert tokens.parse_token(tokens.build_token(key)).key == key


def test_digest_is_keyed_by_the_pepper():
    token = tokens.build_token(tokens.generate_key())
    assert tokens.hash_token(token, "one") != tokens.hash_token(token, "two")
    assert tokens.digests_match(token, tokens.hash_token(token, "one"), "one")
