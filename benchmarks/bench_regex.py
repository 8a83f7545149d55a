"""Worst-case timing of every regular expression in triage (catastrophic-backtracking hunt).

Usage::

    python benchmarks/bench_regex.py              # every pattern, sizes 1e3 1e4 1e5
    python benchmarks/bench_regex.py --only title # patterns whose name contains "title"
    python benchmarks/bench_regex.py --all-rows   # print every pattern/op, not only the worst

What is measured
----------------
*Which patterns*: every ``re.Pattern`` reachable from the globals of every triage module
(``patterns.ALL_PATTERNS``, the private ones of ``normalize``, ``safety``, ``readers/*``,
``ledger/*``..., including patterns kept in dicts, tuples and lists), the safety lexicon's
runtime alternation, and every ``re.search/match/fullmatch/sub/split/findall/finditer/compile``
called with a literal pattern inside a function (found with :mod:`ast`).

*Which inputs*: for each pattern, a generator walks its parse tree (``re._parser``) and
builds strings it matches, with every unbounded quantifier stretched. From those come the
adversarial families: long runs of every character a quantifier accepts, every prefix of a
match repeated end to end (``"<title>" * k`` for ``<title>(.*?)</title>``), a whole match
repeated, and near-misses (a stretched match with its last character removed or replaced).
Every family is timed at 10³ characters; the 8 slowest (and 8 fastest-growing) go on to
10⁴, and the 3 worst of those to 10⁵. A ratio ≥ 30× is re-timed (best of 5) before it is
reported (and so is one ≥ 20×, as timings on a busy machine are noisy).

*What is printed*: per pattern and operation (``search``, ``match``, ``sub``), the worst
family, its times and the growth ratio per 10× size. Linear is ≈10×; a ratio ≥ 30× is
flagged SUPERLINEAR, with the input that triggers it; ">budget" marks a size skipped because
its time, extrapolated from the last ratio, would exceed BUDGET seconds. This is a benchmark, not a test:
nothing asserts, and a run takes about a minute.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import pkgutil
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

try:
    from re import _constants as C
    from re import _parser as P
except ImportError:  # Python < 3.11
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import triage  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
SUPERLINEAR = 30.0
#: Skip a size whose time, extrapolated from the previous ratio, would exceed this (seconds).
BUDGET = 5.0
OPS = ("search", "match", "sub")
_OP_FUNCS = {
    "search": lambda p: p.search,
    "match": lambda p: p.match,
    "fullmatch": lambda p: p.fullmatch,
    "sub": lambda p: (lambda s: p.sub("", s)),
}


# --------------------------------------------------------------------------- collection


def _walk(value, name: str, depth: int = 0) -> Iterator[tuple[str, re.Pattern]]:
    if isinstance(value, re.Pattern):
        yield name, value
    elif depth < 2 and isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{name}[{k!r}]", depth + 1)
    elif depth < 2 and isinstance(value, (list, tuple, frozenset, set)):
        for i, v in enumerate(value):
            yield from _walk(v, f"{name}[{i}]", depth + 1)


_RE_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "split", "findall", "finditer"}


def _flags(node: ast.AST | None) -> int:
    """Value of a literal flags argument (``re.S | re.I``), 0 when absent or not literal."""
    if node is None:
        return 0
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        return int(getattr(re, node.attr, 0))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flags(node.left) | _flags(node.right)
    return 0


def _inline(module) -> Iterator[tuple[str, re.Pattern]]:
    """``re.<fn>("literal", ...)`` calls in a module's source (module-level ones included)."""
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        func = node.func
        if not (isinstance(func.value, ast.Name) and func.value.id == "re" and func.attr in _RE_CALLS):
            continue
        if not node.args or not (isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            continue
        flags_node = next((k.value for k in node.keywords if k.arg == "flags"), None)
        if flags_node is None:
            position = 1 if func.attr == "compile" else {"sub": 4, "subn": 4, "split": 3}.get(func.attr, 2)
            flags_node = node.args[position] if len(node.args) > position else None
        try:
            pattern = re.compile(node.args[0].value, _flags(flags_node))
        except re.error:
            continue
        yield f"{module.__name__}:{node.lineno} re.{func.attr}", pattern, _INLINE_OPS.get(func.attr, OPS)


#: Operation timed for a pattern passed literally to ``re.<fn>``: the one the code runs.
_INLINE_OPS = {
    "search": ("search",), "match": ("match",), "fullmatch": ("fullmatch",), "sub": ("sub",), "subn": ("sub",),
    "split": ("sub",), "findall": ("sub",), "finditer": ("sub",),
}


def collect() -> list[tuple[str, re.Pattern, tuple[str, ...]]]:
    """Every distinct pattern in triage, a name saying where it lives, and the operations to time.

    Compiled patterns get ``search``, ``match`` and ``sub`` (their callers are not traced);
    a literal passed to ``re.search(...)`` and the like gets the operation the code runs.
    """
    seen: dict[tuple[str, int], str] = {}
    found: list[tuple[str, re.Pattern, tuple[str, ...]]] = []

    def add(name: str, pattern: re.Pattern, ops: tuple[str, ...] = OPS) -> None:
        key = (pattern.pattern, pattern.flags)
        if key not in seen:
            seen[key] = name
            found.append((name, pattern, ops))

    for info in pkgutil.walk_packages(triage.__path__, "triage."):
        try:
            module = importlib.import_module(info.name)
        except Exception as exc:  # noqa: BLE001 - optional dependencies
            print(f"# skipped {info.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        # plain pattern globals first, so a pattern is named by its own global, not by a container
        for attr, value in sorted(vars(module).items(), key=lambda kv: (not isinstance(kv[1], re.Pattern), kv[0])):
            if getattr(value, "__module__", module.__name__) != module.__name__ and not isinstance(
                value, (re.Pattern, dict, list, tuple)
            ):
                continue
            for name, pattern in _walk(value, f"{info.name}.{attr}"):
                add(name, pattern)
        for name, pattern, ops in _inline(module):
            add(name, pattern, ops)
    from triage.safety import load_lexicon

    add("triage.safety.Lexicon._threat_re (runtime)", load_lexicon()._threat_re)
    return found


# --------------------------------------------------------------------------- generation

_UNIVERSE = (
    "a0 \t\n\r-_:：.,，。!?！？()（）[]【】「」<>/\\\"'“”@#=*+|~`^$%&;{}"
    "中文引用聊天记录图片微信的了是我你他在撤回加入群聊邀请系统消息结束"
    "AZaz19\u2005\u3000\u00a0\u200b\ufeff😀"
)
_CATEGORY_SAMPLES = {
    C.CATEGORY_DIGIT: "0",
    C.CATEGORY_NOT_DIGIT: "a",
    C.CATEGORY_SPACE: " ",
    C.CATEGORY_NOT_SPACE: "a",
    C.CATEGORY_WORD: "a",
    C.CATEGORY_NOT_WORD: " ",
    C.CATEGORY_LINEBREAK: "\n",
    C.CATEGORY_NOT_LINEBREAK: "a",
}


def _in_class(ch: str, items) -> bool:
    negate = False
    hit = False
    for op, arg in items:
        if op is C.NEGATE:
            negate = True
        elif op is C.LITERAL:
            hit |= ord(ch) == arg
        elif op is C.RANGE:
            hit |= arg[0] <= ord(ch) <= arg[1]
        elif op is C.CATEGORY:
            hit |= re.fullmatch(_category_regex(arg), ch) is not None
        elif op is C.RANGE_UNI_IGNORE:
            hit |= arg[0] <= ord(ch) <= arg[1]
    return hit != negate


def _category_regex(cat) -> str:
    return {
        C.CATEGORY_DIGIT: r"\d", C.CATEGORY_NOT_DIGIT: r"\D", C.CATEGORY_SPACE: r"\s",
        C.CATEGORY_NOT_SPACE: r"\S", C.CATEGORY_WORD: r"\w", C.CATEGORY_NOT_WORD: r"\W",
    }.get(cat, r"[\s\S]")


def class_chars(items, limit: int = 4) -> list[str]:
    """Some characters an ``[...]`` set accepts (first the ones it names)."""
    out: list[str] = []
    named = []
    for op, arg in items:
        if op is C.LITERAL:
            named.append(chr(arg))
        elif op in (C.RANGE, C.RANGE_UNI_IGNORE):
            named += [chr(arg[0]), chr(arg[1])]
        elif op is C.CATEGORY:
            named.append(_CATEGORY_SAMPLES.get(arg, "a"))
    for ch in named + list(_UNIVERSE):
        if ch not in out and _in_class(ch, items):
            out.append(ch)
        if len(out) >= limit:
            break
    return out


class Gen:
    """Strings matching a parsed pattern; ``stretch`` copies for each unbounded repeat."""

    def __init__(self, flags: int, stretch: int, branch: int) -> None:
        self.dotall = bool(flags & re.S)
        self.stretch = stretch
        self.branch = branch
        self.groups: dict[int, str] = {}
        self.chars: set[str] = set()

    def sub(self, items) -> str:
        return "".join(self.node(op, arg) for op, arg in items)

    def node(self, op, arg) -> str:
        if op is C.LITERAL:
            ch = chr(arg)
            self.chars.add(ch)
            return ch
        if op is C.NOT_LITERAL:
            return "a" if arg != ord("a") else "b"
        if op is C.ANY:
            self.chars.update("a\n" if self.dotall else "a")
            return "a"
        if op is C.IN:
            chars = class_chars(arg)
            self.chars.update(chars)
            return chars[0] if chars else ""
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", None)):
            lo, hi, body = arg
            count = lo if hi == 0 else max(lo, min(hi, self.stretch)) if hi is not C.MAXREPEAT else max(lo, self.stretch)
            return "".join(self.sub(body) for _ in range(count))
        if op is C.SUBPATTERN:
            group, _, _, body = arg
            text = self.sub(body)
            if group:
                self.groups[group] = text
            return text
        if op is getattr(C, "ATOMIC_GROUP", None):
            return self.sub(arg)
        if op is C.BRANCH:
            _, alternatives = arg
            return self.sub(alternatives[self.branch % len(alternatives)])
        if op is C.GROUPREF:
            return self.groups.get(arg, "")
        if op is C.GROUPREF_EXISTS:
            group, yes, no = arg
            return self.sub(yes) if group in self.groups else (self.sub(no) if no else "")
        return ""  # AT (anchors), ASSERT, ASSERT_NOT, ...


def families(pattern: re.Pattern) -> dict[str, tuple[str, int, str]]:
    """Adversarial input families: name → (unit, repeat flag, tail); built by ``make``."""
    try:
        parsed = P.parse(pattern.pattern, pattern.flags & ~re.UNICODE)
    except Exception:  # noqa: BLE001
        parsed = []
    samples: list[str] = []
    chars: set[str] = set()
    for branch in range(3):
        for stretch in (1, 3):
            g = Gen(pattern.flags, stretch, branch)
            text = g.sub(parsed)
            chars |= g.chars
            if text and text not in samples:
                samples.append(text)
    long = []
    for branch in range(3):
        g = Gen(pattern.flags, 60, branch)
        text = g.sub(parsed)
        if text and text not in long:
            long.append(text)
    out: dict[str, tuple[str, int, str]] = {}
    for ch in sorted(chars | {"a", " ", "\n", "0", "中"}):
        out[f"run {ch!r}"] = (ch, 1, "")
        out[f"run {ch!r} + '\\x00'"] = (ch, 1, "\x00")
    for s in samples:
        for i in range(1, min(len(s), 24) + 1):
            out[f"prefix {s[:i]!r} repeated"] = (s[:i], 1, "")
        out[f"match {s[:40]!r} repeated"] = (s, 1, "")
        if len(s) > 1:
            out[f"near-miss {s[:-1][:40]!r} repeated"] = (s[:-1], 1, "")
    for s in long:
        # a stretched match with one of its runs (a stretched quantifier) padded to the size:
        # the run alone then a failing tail, or the whole match without its last character
        runs = [m for m in re.finditer(r"(.)\1{2,}", s, re.S)][:12]
        for k, m in enumerate(runs):
            head = s[: m.start()]
            out[f"{head[-20:]!r} + run {m.group(1)!r} + '\\x00'"] = (s[: m.end()], -(k + 1), "\x00")
            out[f"stretched {s[:24]!r}... run {k} padded, minus last"] = (s[:-1], -(k + 1), "")
    return out


def make(unit: str, repeat: int, tail: str, n: int) -> str:
    """``unit`` repeated to ``n`` characters (``repeat`` 1), or ``unit`` with its k-th run of one
    character padded to ``n`` characters (``repeat`` -k), then ``tail``."""
    if not unit:
        return tail[:n]
    if repeat == 1:
        body = unit * (n // len(unit) + 1)
        return body[: n - len(tail)] + tail
    runs = list(re.finditer(r"(.)\1{2,}", unit, re.S))
    m = runs[min(-repeat - 1, len(runs) - 1)] if runs else None
    if m is None:
        return (unit + tail)[:n]
    pad = m.group(1) * max(0, n - len(unit) - len(tail) + (m.end() - m.start()))
    return (unit[: m.start()] + pad + unit[m.end() :])[: n - len(tail)] + tail


# --------------------------------------------------------------------------- timing


def _time(pattern: re.Pattern, op: str, text: str) -> float:
    """Best of two runs (one when the first takes over 50 ms)."""
    fn = _OP_FUNCS[op](pattern)
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        fn(text)
        best = min(best, time.perf_counter() - start)
        if best > 0.05:
            break
    return best


def measure(
    pattern: re.Pattern, sizes=SIZES, ops: tuple[str, ...] = OPS, keep: tuple[int, ...] = (8, 3)
) -> dict[str, tuple[str, list[float | None]]]:
    """Worst family per operation, with its time at every size (None: skipped, over budget).

    Every family is timed at the first size; the ``keep[0]`` slowest go on to the second size,
    the ``keep[1]`` slowest (or fastest-growing) of those to the third, and so on.
    """
    fams = families(pattern)
    result = {}
    for op in ops:
        alive = {name: [] for name in fams}
        for level, n in enumerate(sizes):
            for name, times in alive.items():
                unit, repeat, tail = fams[name]
                if level >= 2 or times[-1:] == [None]:
                    prev = times[-1]
                    ratio = prev / max(times[-2], 1e-7) if prev is not None and times[-2] is not None else None
                    if prev is None or prev * max(ratio, 10.0) > BUDGET:
                        times.append(None)
                        continue
                times.append(_time(pattern, op, make(unit, repeat, tail, n)))
            if level < len(sizes) - 1:
                k = keep[min(level, len(keep) - 1)]
                ranked = sorted(alive, key=lambda name: (_growth(alive[name]), alive[name][-1] or 0.0), reverse=True)
                by_time = sorted(alive, key=lambda name: alive[name][-1] or 0.0, reverse=True)
                chosen = dict.fromkeys(by_time[:k] + ranked[:k])
                alive = {name: alive[name] for name in chosen}
        name = max(alive, key=lambda name: (_growth(alive[name]), alive[name][-1] or 0.0))
        times = alive[name]
        if _growth(times) >= SUPERLINEAR * 2 / 3:  # confirm: re-time every measured size, best of 5
            unit, repeat, tail = fams[name]
            times = [
                None if t is None else min(_time(pattern, op, make(unit, repeat, tail, n)) for _ in range(5 if t < 0.05 else 1))
                for t, n in zip(times, sizes)
            ]
        result[op] = (name, times)
    return result


def _growth(times: list[float | None]) -> float:
    ratios = [b / max(a, 1e-7) for a, b in zip(times, times[1:]) if a is not None and b is not None]
    return max(ratios, default=0.0) + (1e6 if times and times[-1] is None else 0.0)


def _fmt(t: float | None) -> str:
    return "  >budget" if t is None else f"{t * 1e3:9.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="", help="only patterns whose name contains this")
    parser.add_argument("--all-rows", action="store_true", help="print every operation, not only the worst")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args(argv)
    sizes = tuple(args.sizes)

    patterns = [(n, p, ops) for n, p, ops in collect() if args.only in n]
    print(f"# {len(patterns)} patterns; sizes {sizes}; times in ms (best of 2); SUPERLINEAR = ratio >= {SUPERLINEAR:g}x per 10x")
    header = f"{'pattern':58} {'op':9} " + " ".join(f"{n:>9}" for n in sizes) + "  " + " ".join(
        f"{'x' + format(sizes[i + 1], '.0e').replace('+0', ''):>7}" for i in range(len(sizes) - 1)
    ) + "  worst input"
    print(header)
    flagged = []
    started = time.perf_counter()
    for name, pattern, ops in patterns:
        rows = measure(pattern, sizes, ops)
        worst_op = max(rows, key=lambda op: _growth(rows[op][1]))
        for op in ops if args.all_rows else [worst_op]:
            family, times = rows[op]
            ratios = [
                f"{b / max(a, 1e-7):7.1f}" if a is not None and b is not None else "      -" for a, b in zip(times, times[1:])
            ]
            growth = _growth(times)
            flag = "  SUPERLINEAR" if growth >= SUPERLINEAR else ""
            short = name if len(name) <= 58 else "…" + name[-57:]
            print(f"{short:58} {op:9} " + " ".join(_fmt(t) for t in times) + "  " + " ".join(ratios) + f"  {family}{flag}")
            if flag:
                flagged.append((name, op, family, times, pattern.pattern))
        sys.stdout.flush()
    print(f"\n# {len(patterns)} patterns in {time.perf_counter() - started:.0f} s")
    if flagged:
        print(f"# SUPERLINEAR ({len(flagged)}):")
        for name, op, family, times, source in flagged:
            print(f"#   {name} .{op}() on {family}: {' / '.join(_fmt(t).strip() for t in times)} ms")
            print(f"#     pattern: {source[:160]!r}")
    else:
        print("# no superlinear pattern found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
