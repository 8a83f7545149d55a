"""Regular expressions shared by normalisation, privacy masking and the chat-log readers.

Every pattern here is linear-time on any input: quantifiers are bounded or applied to
character classes that cannot overlap with what follows them (no nested quantifiers).
``benchmarks/bench_regex.py`` feeds each one adversarial inputs and prints the time.
"""

from __future__ import annotations

import re

__all__ = [
    "PROVINCE_ABBR",
    "MOBILE",
    "LANDLINE",
    "ID_CARD",
    "BANK_CARD",
    "PLATE",
    "URL",
    "MENTION",
    "LONG_DIGITS",
    "BRACKET_TOKEN",
    "REPEAT_CHAR",
    "WHITESPACE",
    "SURROGATE",
    "ALL_PATTERNS",
]

#: One-character province abbreviations used on Chinese licence plates.
PROVINCE_ABBR = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领"

#: Mainland mobile numbers, optionally +86 and split 3-4-4 by spaces or dashes.
MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])")

#: Landlines with an area code: 021-59991234, 021 5999 1234, (021)59991234.
LANDLINE = re.compile(r"(?<![0-9])(?:\(0[0-9]{2,3}\)|0[0-9]{2,3})[ -]?[2-9][0-9]{2,3}[ -]?[0-9]{4}(?![0-9])")

#: Resident ID card numbers: 6-digit region, birth date 19xx/20xx, 3 digits, check digit or X.
ID_CARD = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9A-Za-z])"
)

#: Candidate bank-card numbers: 16-19 digits, optionally in groups of four. Confirm with Luhn.
BANK_CARD = re.compile(r"(?<![0-9])[1-9][0-9]{3}(?:[ -]?[0-9]{4}){2}[ -]?[0-9]{4,7}(?![0-9])")

#: Licence plates: province, letter, optional separator, 5 (or 6 for new-energy) characters.
PLATE = re.compile(
    r"(?<![A-Za-z0-9])[" + PROVINCE_ABBR + r"][A-Za-z][·•.\- ]?[A-Za-z0-9]{4}[A-Za-z0-9挂学警]{1,2}(?![A-Za-z0-9])"
)

URL = re.compile(r"(?:https?://|www\.)[^\s\u3000<>\"'，。！？）)]{1,2000}", re.IGNORECASE)

#: @mention: ``@name`` ended by U+2005 (phones), a space or the end of the text.
MENTION = re.compile(r"@([^\s@\u2005\[\]]{1,24})(?:\u2005|[ \t]|$)")

LONG_DIGITS = re.compile(r"[0-9]{6,}")

#: ``[强]``, ``[图片]``, ``[语音]``: a bracketed token of at most ten non-space characters.
BRACKET_TOKEN = re.compile(r"\[[^\[\]\s]{1,10}\]")

REPEAT_CHAR = re.compile(r"(.)\1{3,}", re.DOTALL)

WHITESPACE = re.compile(r"\s+")

#: A lone UTF-16 surrogate: not encodable, so replaced before anything is written.
SURROGATE = re.compile("[\ud800-\udfff]")

ALL_PATTERNS = {
    name: obj
    for name, obj in dict(globals()).items()
    if isinstance(obj, re.Pattern)
}
