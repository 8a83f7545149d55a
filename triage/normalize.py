"""Stage 1 of the pipeline: clean a raw chat message into the text the model reads.

The steps, in order (see :func:`normalize`):

1. remove what no reader needs: unpaired surrogates, control, zero-width and bidi characters;
2. split off a quoted-reply block (the phone format ``「名：原文」`` + dashed line + reply);
3. replace @mentions (``@name`` + U+2005 as phones send it) by ``[@]`` / ``[@所有人]``;
4. Unicode NFKC (full-width letters, digits and punctuation become half-width), lower case;
5. traditional → simplified characters (OpenCC ``t2s``);
6. canonical placeholders: media (``【图片】``, ``[语音 5"]``, ``![图片](url)`` → ``[图片]``,
   ``[语音]``), URLs → ``[网址]``, phone numbers → ``[电话]``, ID cards → ``[证件]``,
   licence plates → ``[车牌]``, other runs of six or more digits → ``[数字]``;
7. runs of one character longer than three are cut to three; white space is collapsed.

WeChat emoticons (``[强]``) and emoji are kept: they carry meaning, and the segmenter keeps
each bracketed token whole.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import unicodedata

from triage import patterns

__all__ = ["QuotedReply", "clean_unicode", "split_quote", "normalize", "normalize_many", "MAX_CHARS"]

#: Texts longer than this many characters are truncated (deterministically: the head is kept).
MAX_CHARS = 2000

_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f"  # C0/C1 controls except \t \n \r
    "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb]"
)
_QUOTE_RULE = re.compile(r"\n[ \t]*(?:-[ \t]*){5,40}\n")
_BRACKETED = re.compile(r"[\[【]([^\[\]【】\n]{1,80})[\]】]")
_MD_IMAGE = re.compile(r"!\[[^\]\n]{0,20}\]\([^)\s]{0,500}\)")

# Media placeholder spellings of WeChat, MemoTrace, WechatExporter, PyWxDump and chatlog.
_PLACEHOLDER_ALIASES = {
    "图片": "[图片]",
    "照片": "[图片]",
    "语音": "[语音]",
    "视频": "[视频]",
    "小视频": "[视频]",
    "表情": "[表情]",
    "表情包": "[表情]",
    "动画表情": "[表情]",
    "文件": "[文件]",
    "链接": "[链接]",
    "分享链接": "[链接]",
    "音乐分享": "[链接]",
    "位置": "[位置]",
    "红包": "[红包]",
    "转账": "[转账]",
    "个人名片": "[名片]",
    "名片": "[名片]",
    "视频/语音通话": "[通话]",
    "语音通话": "[通话]",
    "视频通话": "[通话]",
    "合并转发": "[聊天记录]",
    "合并转发的聊天记录": "[聊天记录]",
    "聊天记录": "[聊天记录]",
}
_ALIAS_HEAD = re.compile(r"[:：|\s0-9\"″]")
_HAS_DIGIT = re.compile(r"[0-9]")


@dataclasses.dataclass(frozen=True)
class QuotedReply:
    """A message split into the reply and the block it quotes."""

    reply: str
    quoted_sender: str = ""
    quoted_text: str = ""


def clean_unicode(text: str) -> str:
    """Drop unpaired surrogates, control, zero-width and bidi characters (keeps ``\\n``/``\\t``)."""
    text = patterns.SURROGATE.sub("\ufffd", text)
    return _INVISIBLE.sub("", text)


def split_quote(text: str) -> QuotedReply:
    """Split WeChat's copied quoted reply ``「名：原文」`` / dashed rule / reply.

    Returns the text unchanged as ``reply`` when it has no such block.
    """
    stripped = text.lstrip()
    if not stripped.startswith("「"):
        return QuotedReply(text)
    rule = _QUOTE_RULE.search(stripped)
    if rule is None:
        return QuotedReply(text)
    head = stripped[: rule.start()].rstrip()
    if not head.endswith("」"):
        return QuotedReply(text)
    inner = head[1:-1]
    sender, sep, quoted = inner.partition("：")
    if not sep:
        sender, sep, quoted = inner.partition(":")
    if not sep or len(sender) > 40:
        sender, quoted = "", inner
    return QuotedReply(stripped[rule.end():].strip(), sender.strip(), quoted.strip())


def _canonical_bracket(match: re.Match[str]) -> str:
    inner = match.group(1).strip()
    canonical = _PLACEHOLDER_ALIASES.get(inner)
    if canonical is None:
        canonical = _PLACEHOLDER_ALIASES.get(_ALIAS_HEAD.split(inner, maxsplit=1)[0])
    if canonical is not None:
        return f" {canonical} "
    return match.group(0)


def _mention(match: re.Match[str]) -> str:
    return " [@所有人] " if match.group(1) == "所有人" else " [@] "


class _Converter:
    """Traditional → simplified converter, created once on first use behind a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._opencc = None

    def convert(self, text: str) -> str:
        if self._opencc is None:
            with self._lock:
                if self._opencc is None:
                    import opencc  # deferred: its dictionaries load on first use only

                    self._opencc = opencc.OpenCC("t2s")
        return self._opencc.convert(text)


_T2S = _Converter()


def _needs_t2s(text: str) -> bool:
    # OpenCC is cheap, but most messages are pure ASCII + common simplified text; skipping
    # ASCII-only strings avoids the call entirely.
    return not text.isascii()


def normalize(text: str, *, max_chars: int = MAX_CHARS) -> str:
    """Return the model-ready form of one message.

    Parameters
    ----------
    text : str
        Raw message as typed or exported. A quoted-reply block is dropped and replaced by
        the token ``[引用]``; use :func:`split_quote` to keep it.
    max_chars : int, default=2000
        Keep at most this many characters of the (cleaned) input.

    Returns
    -------
    str
        Normalised text; ``""`` when nothing is left.
    """
    text, quoted = _prepare(text, max_chars)
    text = unicodedata.normalize("NFKC", text).lower()
    if _needs_t2s(text):
        text = _T2S.convert(text)
    text = patterns.REPEAT_CHAR.sub(r"\1\1\1", _placeholders(text))
    if quoted:
        text = "[引用] " + text
    return patterns.WHITESPACE.sub(" ", text).strip()


def _prepare(text: str, max_chars: int) -> tuple[str, bool]:
    """Steps before case folding: clean, truncate, split a quote, media links, @mentions.

    Returns the text and whether a quoted-reply block was removed.
    """
    text = clean_unicode(text)[:max_chars]
    quoted = split_quote(text)
    text = quoted.reply
    # Each substitution below runs only when a cheap substring test says it can match:
    # most chat messages have no URL, no digits and no brackets.
    if "![" in text:
        text = _MD_IMAGE.sub(" [图片] ", text)
    if "@" in text:
        text = patterns.MENTION.sub(_mention, text)
    return text, bool(quoted.quoted_text or quoted.quoted_sender)


def _placeholders(text: str) -> str:
    """Steps after case folding: URLs, media placeholders, personal and long numbers."""
    if "http" in text or "www." in text:
        text = patterns.URL.sub(" [网址] ", text)
    if "[" in text or "【" in text:
        text = _BRACKETED.sub(_canonical_bracket, text)
    if _HAS_DIGIT.search(text):
        text = patterns.ID_CARD.sub(" [证件] ", text)
        text = patterns.MOBILE.sub(" [电话] ", text)
        text = patterns.LANDLINE.sub(" [电话] ", text)
        text = patterns.PLATE.sub(" [车牌] ", text)
        text = patterns.LONG_DIGITS.sub(" [数字] ", text)
    return text


# normalize_many joins texts with NUL: clean_unicode removes it from every text, and it is a
# stable code point for NFKC (a starter that composes with nothing), neither cased nor
# case-ignorable for lower()'s final-sigma rule, in no OpenCC dictionary entry, not white
# space, and excluded from the repeated-character pattern below.
_JOIN = "\x00"
_REPEAT_JOINED = re.compile(r"([^\x00])\1{3,}", re.DOTALL)


def normalize_many(texts, *, max_chars: int = MAX_CHARS) -> list[str]:
    """``[normalize(t, max_chars=max_chars) for t in texts]``, faster for many texts.

    The steps that are the same on a NUL-joined batch as on each text (NFKC, lower case,
    OpenCC, repeated characters, white space) run once on the joined batch; the others run
    per text exactly as in :func:`normalize`.
    """
    texts = list(texts)
    n = len(texts)
    if n < 2:
        return [normalize(t, max_chars=max_chars) for t in texts]
    stage: list[str] = []
    quoted: list[bool] = []
    for text in texts:
        text, was_quoted = _prepare(text, max_chars)
        stage.append(text)
        quoted.append(was_quoted)
    stage = unicodedata.normalize("NFKC", _JOIN.join(stage)).lower().split(_JOIN)
    if len(stage) != n:  # cannot happen (see above); stay exact regardless
        return [normalize(t, max_chars=max_chars) for t in texts]
    wide = [i for i, t in enumerate(stage) if _needs_t2s(t)]
    if wide:
        converted = _T2S.convert(_JOIN.join([stage[i] for i in wide])).split(_JOIN)
        if len(converted) != len(wide):
            return [normalize(t, max_chars=max_chars) for t in texts]
        for i, t in zip(wide, converted):
            stage[i] = t
    stage = [_placeholders(text) for text in stage]
    joined = patterns.WHITESPACE.sub(" ", _REPEAT_JOINED.sub(r"\1\1\1", _JOIN.join(stage)))
    out = joined.split(_JOIN)
    if len(out) != n:
        return [normalize(t, max_chars=max_chars) for t in texts]
    for i, flag in enumerate(quoted):
        out[i] = patterns.WHITESPACE.sub(" ", "[引用] " + out[i]).strip() if flag else out[i].strip()
    return out
