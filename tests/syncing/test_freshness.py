"""Durations in the merchant's words: the two largest units, rounded up to the minute."""

from datetime import timedelta

import pytest

from syncing.freshness import in_words


@pytest.mark.parametrize(
    ("duration", "words"),
    [
        (timedelta(seconds=20), "1\xa0minute"),
        (timedelta(minutes=30, seconds=20), "31\xa0minutes"),
        (timedelta(hours=2), "2\xa0hours"),
        (timedelta(minutes=31, microseconds=20), "31\xa0minutes"),
        (timedelta(hours=2, minutes=1), "2\xa0hours, 1\xa0minute"),
        (timedelta(days=1, hours=2, minutes=1), "1\xa0day, 2\xa0hours"),
        (timedelta(days=2), "2\xa0days"),
    ],
)
def test_a_duration_is_told_in_its_two_largest_units_rounded_up_to_the_minute(duration, words):
    assert in_words(duration) == words
