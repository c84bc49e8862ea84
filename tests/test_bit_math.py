"""The BitMath library through BitMathHarness: the lowest and highest set bit of every single-bit word,
of words with several bits, and of random words against Python's own bit arithmetic."""

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


@pytest.mark.parametrize(
    ("word", "lowest", "highest"), [(0b1011_0000, 4, 7), (2**256 - 1, 0, 255), (3 << 127, 127, 128), (0xF0 << 200, 204, 207)]
)
def test_words_with_several_bits(harness, word, lowest, highest):
    assert (harness.lowestBit(word), harness.highestBit(word)) == (lowest, highest)


@settings(max_examples=100, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 2**256 - 1))
def test_random_words(harness, word):
    assert harness.lowestBit(word) == (word & -word).bit_length() - 1
    assert harness.highestBit(word) == word.bit_length() - 1
