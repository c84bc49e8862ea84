"""The BitMath library through BitMathHarness: the lowest and highest set bit and the count of set bits of
every single-bit word, of words with several bits, and of random words against Python's own bit arithmetic."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@pytest.fixture(scope="module")
def harness(project, admin):
    return admin.deploy(project.BitMathHarness)


def test_every_single_bit(harness):
    for index in range(256):
        assert harness.lowestBit(1 << index) == index
        assert harness.highestBit(1 << index) == index
        assert harness.popCount(1 << index) == 1


@pytest.mark.parametrize(
    ("word", "lowest", "highest"), [(0b1011_0000, 4, 7), (2**256 - 1, 0, 255), (3 << 127, 127, 128), (0xF0 << 200, 204, 207)]
)
def test_words_with_several_bits(harness, word, lowest, highest):
    assert (harness.lowestBit(word), harness.highestBit(word)) == (lowest, highest)
    assert harness.popCount(word) == bin(word).count("1")


def test_pop_count_of_empty_and_full_words(harness):
    assert (harness.popCount(0), harness.popCount(2**256 - 1), harness.popCount(2**255 - 1)) == (0, 256, 255)


@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 2**256 - 1))
def test_random_words(harness, word):
    assert harness.lowestBit(word) == (word & -word).bit_length() - 1
    assert harness.highestBit(word) == word.bit_length() - 1
    assert harness.popCount(word) == bin(word).count("1")
