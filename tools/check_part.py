"""Validate one hand-written corpus part: python3 tools/check_part.py datasets/parts/NAME.jsonl"""
import collections, json, re, sys, unicodedata

CATS = {"emergency","crime","fraud","hazard","traffic","dispute","lost_found","consultation","notice","chitchat"}
URGS = {"critical","high","normal","low"}
AUTHORS = {"resident","community_police","auxiliary_police","juwei","wuye","system","other"}
TAGS = {"typo","dialect","traditional","emoji","long","short","quote","staff","mention","media",
        "pinyin","negation","joke","past","question","number","place","hard_case","english"}

def key(t):
    t = unicodedata.normalize("NFKC", t).lower()
    t = re.sub(r"\d+", "0", t)
    return re.sub(r"[\s\W_]+", "", t)

path = sys.argv[1]
seen, errors, cnt, tags = {}, 0, collections.Counter(), collections.Counter()
for n, line in enumerate(open(path, encoding="utf-8"), 1):
    if not line.strip():
        continue
    try:
        r = json.loads(line)
    except Exception as e:
        print(f"{path}:{n}: bad JSON: {e}"); errors += 1; continue
    bad = []
    if not isinstance(r.get("text"), str) or not r["text"].strip(): bad.append("empty text")
    if r.get("category") not in CATS: bad.append(f"category {r.get('category')!r}")
    if r.get("urgency") not in URGS: bad.append(f"urgency {r.get('urgency')!r}")
    if r.get("author") not in AUTHORS: bad.append(f"author {r.get('author')!r}")
    if not isinstance(r.get("tags", []), list) or set(r.get("tags", [])) - TAGS: bad.append(f"tags {r.get('tags')!r}")
    if bad:
        print(f"{path}:{n}: " + "; ".join(bad)); errors += 1; continue
    k = key(r["text"])
    if k in seen:
        print(f"{path}:{n}: near-duplicate of line {seen[k]}: {r['text'][:40]!r}"); errors += 1
    seen[k] = n
    cnt[(r["category"], r["urgency"])] += 1
    tags.update(r.get("tags", []))
for k, v in sorted(cnt.items()):
    print(f"{k[0]:13s} {k[1]:9s} {v}")
print("total", sum(cnt.values()), "errors", errors)
print("tags", dict(tags))
