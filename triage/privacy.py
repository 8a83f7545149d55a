"""Mask residents' personal numbers in anything triage writes to files and reports.

Masked: mainland mobile numbers, landlines with an area code, resident ID-card numbers
(with a valid birth date and check digit), bank-card numbers (16–19 digits passing the Luhn
check) and licence plates. Left alone on purpose: dates and times, amounts of money, room
and building numbers, order numbers that fail the checks above, and the service numbers
110/119/120/122/12345/96110.

Masking keeps enough to tell records apart in a report (the first and last few characters):
``138****5678``, ``310***********123X``, ``沪A·D***1``.
"""

from __future__ import annotations

import re

from triage import patterns

__all__ = ["mask_pii", "luhn_valid", "id_card_valid"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    """True when a string of digits passes the Luhn checksum used by bank cards."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def id_card_valid(number: str) -> bool:
    """True when an 18-character resident ID number has the right ISO 7064 check character."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(number[i]) * _ID_WEIGHTS[i] for i in range(17))
    return _ID_CHECK[total % 11] == number[17].upper()


def _keep_ends(s: str, head: int, tail: int) -> str:
    core = [c for c in s if c not in " -·•."]
    if len(core) <= head + tail:
        return "*" * len(core)
    return "".join(core[:head]) + "*" * (len(core) - head - tail) + "".join(core[-tail:])


def _mask_id(m: re.Match[str]) -> str:
    s = m.group(0)
    return _keep_ends(s, 3, 4) if id_card_valid(s) else s


def _mask_bank(m: re.Match[str]) -> str:
    # Typed in groups ("6222 0212 ..."), 16-19 digits are a card number whatever the checksum;
    # run together they must pass Luhn, so order numbers and timestamps stay readable.
    s = m.group(0)
    digits = re.sub(r"[ -]", "", s)
    if not 16 <= len(digits) <= 19:
        return s
    return _keep_ends(digits, 4, 4) if (digits != s or luhn_valid(digits)) else s


def _mask_phone(m: re.Match[str]) -> str:
    s = m.group(0)
    prefix = ""
    if not s.startswith("1"):
        cut = s.index("1", 3 if s.startswith("+") else 2)
        prefix, s = s[:cut], s[cut:]
    return prefix + _keep_ends(s, 3, 4)


def _mask_landline(m: re.Match[str]) -> str:
    s = m.group(0)
    area = 3 if s.lstrip("(")[1] in "12" else 4  # 010 and 02x have three-digit area codes
    return _keep_ends(s, area, 2)


def _mask_plate(m: re.Match[str]) -> str:
    s = m.group(0)
    sep = "·" if any(c in s for c in "·•.- ") else ""
    core = [c for c in s if c not in "·•.- "]
    return core[0] + core[1] + sep + "*" * (len(core) - 3) + core[-1]


def mask_pii(text: str) -> str:
    """Return ``text`` with phone, ID-card, bank-card and plate numbers masked.

    Examples
    --------
    >>> mask_pii("我电话13812345678，车牌沪A·D3K21，在3号楼602")
    '我电话138****5678，车牌沪A·****1，在3号楼602'
    """
    if not text:
        return text
    text = patterns.ID_CARD.sub(_mask_id, text)
    text = patterns.BANK_CARD.sub(_mask_bank, text)
    text = patterns.MOBILE.sub(_mask_phone, text)
    text = patterns.LANDLINE.sub(_mask_landline, text)
    return patterns.PLATE.sub(_mask_plate, text)
