"""Inputs and scoring for bench/readings.sh (reading-aware `tables suggest`).

  readings.py prepare WORK            writes tables and masters into WORK
  readings.py score WORK NAME OUT...  prints P@1 / P@5 per set and split for the
                                      suggest outputs OUT (one per set, in SETS order)

Labelled sets: bench/readings/*.tsv (split, query, expected_code). Masters: J-FAGY
from ../shared; the two small fictitious masters of bench/readings/, written as a
MEDIS 病名基本テーブル-layout CP932 CSV (read through tables/profiles/medis-byomei-excode.toml,
カナ in half-width katakana as MEDIS ships it) and as a CodeSystem JSON.
"""
import json
import os
import random
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
JFAGY = os.path.join(ROOT, "..", "shared", "data", "jfagy", "utf8", "JFAGY_J9FN_20250401_R01.csv")
SETS = ["allergens-jfagy", "diseases", "drugs", "jfagy-house-variants"]

HEADER = """#curie_map:
#  source: urn:kakehashi:local:bench:READ/
#mapping_set_id: urn:kakehashi:table:bench-readings
#mapping_set_version: "1"
#mapping_set_title: "reading benchmark (generated)"
#license: https://www.apache.org/licenses/LICENSE-2.0
#source_system: urn:kakehashi:local:bench:READ
#table_id: bench-readings
#site: bench
row_id\tsubject_id\tsubject_label\tsubject_kana\tpredicate_id\tobject_id\tmapping_justification\tstatus\tauthor_label\tmapping_date
"""


def rows(path):
    out = []
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line or line.startswith("#"):
            continue
        out.append(line.split("\t"))
    return out[1:]


def labelled(name):
    if name == "jfagy-house-variants":
        return rows(os.path.join(ROOT, "terminologies", "data", "suggest-eval", "jfagy-house-variants.tsv"))
    return rows(os.path.join(HERE, "readings", name + ".tsv"))


def table(queries):
    body = "".join(
        f"r{i + 1:05}\tsource:Q{i + 1:05}\t{q}\t\tskos:exactMatch\tsssom:NoTermFound\tsemapv:UnspecifiedMatching\tunreviewed\tbench\t2026-01-01\n"
        for i, q in enumerate(queries)
    )
    return HEADER + body


def halfwidth(s):
    """Full-width katakana → half-width (MEDIS カナ style)."""
    table = {}
    for cp in range(0xFF61, 0xFFA0):
        table[unicodedata.normalize("NFKC", chr(cp))] = chr(cp)
    out = []
    for c in s:
        d = unicodedata.normalize("NFD", c)
        base, marks = d[0], d[1:]
        base = unicodedata.normalize("NFKC", base)
        out.append(table.get(base, base))
        for m in marks:
            out.append({"\u3099": "\uff9e", "\u309a": "\uff9f"}.get(m, m))
    return "".join(out)


def prepare(work):
    os.makedirs(work, exist_ok=True)
    for name in SETS:
        qs = [r[1] for r in labelled(name)]
        open(os.path.join(work, name + ".sssom.tsv"), "w", encoding="utf-8").write(table(qs))
    # Diseases: the MEDIS 病名基本テーブル layout (20 columns, CP932, no header).
    lines = []
    for code, name, kana in rows(os.path.join(HERE, "readings", "diseases-master.tsv")):
        f = ["0", code, name, halfwidth(kana), "1", "ZB" + code[-3:], "", "", "", "", "", name, "1", "1", "20260101", "", "0", "0", "", ""]
        lines.append(",".join(f'"{x}"' for x in f))
    open(os.path.join(work, "diseases-master.txt"), "wb").write(("\r\n".join(lines) + "\r\n").encode("cp932"))
    # Drugs: a CodeSystem without readings.
    concepts = [{"code": c, "display": n} for c, n in rows(os.path.join(HERE, "readings", "drugs-master.tsv"))]
    cs = {"resourceType": "CodeSystem", "url": "urn:kakehashi:bench:drugs", "version": "1", "status": "draft", "content": "complete", "concept": concepts}
    open(os.path.join(work, "drugs-master.json"), "w", encoding="utf-8").write(json.dumps(cs, ensure_ascii=False))
    # Speed: a 30 000-name master (J-FAGY terms joined in pairs) and 10 000 source
    # codes (each a master name cut, bracketed or in katakana, or a J-FAGY term).
    import csv
    terms = [r["JPTERM"] for r in csv.DictReader(open(JFAGY, encoding="utf-8"))]
    rnd = random.Random(1)
    joins = ["", "の", "性", "・", "による", "後"]
    names, seen = [], set()
    while len(names) < 30000:
        n = rnd.choice(terms) + rnd.choice(joins) + rnd.choice(terms)
        if n not in seen:
            seen.add(n)
            names.append(n)
    cs = {"resourceType": "CodeSystem", "url": "urn:kakehashi:bench:big", "version": "1", "status": "draft", "content": "complete",
          "concept": [{"code": f"B{i:06}", "display": n} for i, n in enumerate(names)]}
    open(os.path.join(work, "big-master.json"), "w", encoding="utf-8").write(json.dumps(cs, ensure_ascii=False))
    qs = []
    for i in range(10000):
        n = rnd.choice(names)
        qs.append([n[:-1], n + "（疑い）", "".join(chr(ord(c) + 0x60) if "\u3041" <= c <= "\u3096" else c for c in n)][i % 3])
    open(os.path.join(work, "big.sssom.tsv"), "w", encoding="utf-8").write(table(qs))


def ranked(out_path):
    """subject code → target codes in rank order."""
    got = {}
    header = None
    for line in open(out_path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith("#") or not line:
            continue
        f = line.split("\t")
        if header is None:
            header = f
            continue
        r = dict(zip(header, f))
        if r["status"] != "suggested":
            continue
        rank = int(r["justification"].split("rank ")[1].split(" ")[0])
        got.setdefault(r["subject_id"], []).append((rank, r["object_id"].split(":", 1)[1]))
    return {k: [c for _, c in sorted(v)] for k, v in got.items()}


def score(work, label, outs):
    res = {}
    for name, out in zip(SETS, outs):
        got = ranked(out)
        for split in ("dev", "test"):
            n = h1 = h5 = 0
            for i, r in enumerate(labelled(name)):
                if r[0] != split:
                    continue
                n += 1
                cands = got.get(f"source:Q{i + 1:05}", [])
                h1 += cands[:1] == [r[2]]
                h5 += r[2] in cands[:5]
            res[f"{name} ({split})"] = (n, h1 / n, h5 / n)
    json.dump(res, open(os.path.join(work, label + ".json"), "w"))


def report(work, labels):
    data = [json.load(open(os.path.join(work, l + ".json"))) for l in labels]
    head = f"{'labelled set':<34} {'n':>4}" + "".join(f"  {l + ' P@1':>14} {l + ' P@5':>14}" for l in labels)
    print(head)
    for k in data[0]:
        n = data[0][k][0]
        print(f"{k:<34} {n:>4}" + "".join(f"  {d[k][1]:>14.3f} {d[k][2]:>14.3f}" for d in data))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "prepare":
        prepare(sys.argv[2])
    elif cmd == "score":
        score(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif cmd == "report":
        report(sys.argv[2], sys.argv[3:])
