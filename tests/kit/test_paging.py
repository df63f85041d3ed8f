from __future__ import annotations

import pytest

from services.kit import paging
from services.kit.errors import InvalidArgument


def test_the_first_page_has_no_cursor() -> None:
    assert paging.parse_token("") is None


def test_a_token_carries_its_id() -> None:
    assert paging.parse_token(paging.next_token([5, 4, 3], size=3)) == 3


def test_a_short_page_is_the_last() -> None:
    assert paging.next_token([5, 4], size=3) == ""


@pytest.mark.parametrize("token", ["abc", "-1", "1.5", "²", "9223372036854775808", "1" * 20, " 1"])
def test_tokens_we_never_issued_are_invalid_arguments(token: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        paging.parse_token(token)
    assert caught.value.reason == "INVALID_PAGE_TOKEN"
    assert caught.value.violations[0][0] == "page_token"


def test_zero_means_the_default_page_size() -> None:
    assert paging.page_size(0) == paging.DEFAULT_PAGE_SIZE
    assert paging.page_size(7) == 7
