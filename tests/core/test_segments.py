import pytest

from otpservice.core.segments import count_segments, is_gsm7


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension chars cost two septets
        ("€" * 81, 2),
        ("a" * 152 + "€", 1),  # 154 septets still one segment
        ("a" * 152 + "€" + "a" * 7, 2),
        ("ñ" * 160, 1),  # basic-table accent
        ("ç" * 70, 1),
        ("ç" * 71, 2),  # lowercase ç is not GSM-7
        ("😀" * 35, 1),
        ("😀" * 36, 2),  # surrogate pairs count two units
        ("a" * 66 + "😀", 1),
        ("ç" * 69 + "😀", 2),
        ("ç" * 66 + "😀" + "ç" * 10, 2),
    ],
)
def test_segments(text: str, segments: int) -> None:
    assert count_segments(text) == segments


def test_escape_pair_not_split_across_segments() -> None:
    # 152 septets + a 2-septet char would end at 154 > 153: the pair moves to segment 2.
    assert count_segments("a" * 152 + "€" + "a" * 10) == 2
    assert count_segments("a" * 305 + "€") == 3


def test_gsm7_detection() -> None:
    assert is_gsm7("Hello {world} €5")
    assert not is_gsm7("Привет")
