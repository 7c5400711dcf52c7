"""SMS segment counting by GSM 03.38: GSM-7 with its extension table, else UCS-2."""

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _pack(units: list[int], single: int, multi: int) -> int:
    """Segments needed for characters of the given unit widths; a character is never split."""
    if sum(units) <= single:
        return 1
    segments, used = 1, 0
    for width in units:
        if used + width > multi:
            segments += 1
            used = 0
        used += width
    return segments


def count_segments(text: str) -> int:
    if not text:
        return 1
    if is_gsm7(text):
        return _pack([2 if ch in GSM7_EXTENSION else 1 for ch in text], 160, 153)
    return _pack([2 if ord(ch) > 0xFFFF else 1 for ch in text], 70, 67)


def encoding_of(text: str) -> str:
    return "GSM-7" if is_gsm7(text) else "UCS-2"
