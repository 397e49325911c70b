#!/usr/bin/env python3
"""Writes the input files of the golden/uke cases (CP932, CR LF, 0x1A). Run from this folder.

Every person, number and facility here is fictitious.
"""
import os

def rec(*fields, n=None):
    f = list(fields)
    if n is not None:
        f += [""] * (n - len(f))
    return ",".join(f)

def days(n_fields_before, **kw):
    return None

def re(no, ym, name, sex, birth, karte, kana, extra12=""):
    f = ["RE", no, "1112", ym, name, sex, birth, "", "", "", "", extra12, "", karte] + [""] * 22 + [kana, ""]
    assert len(f) == 38
    return ",".join(f)

def act(kind, code, qty, points, times, day=1):
    d = [""] * 31
    d[day - 1] = times
    return ",".join([kind, "11", "1", code, qty, points, times] + [""] * 6 + d)

def to(code):
    d = [""] * 31
    d[2] = "1"
    return ",".join(["TO", "40", "1", code, "1", "50", "1", "101", "500", "", "", ] + [""] * 6 + d)

def jd():
    return ",".join(["JD", "1"] + ["1" if i in (3, 10) else "" for i in range(1, 32)])

def mf():
    return ",".join(["MF", "01"] + [""] * 31)

def write(case, name, lines, eol="\r\n", eof=True, enc="cp932", final_eol=True, raw_tail=b""):
    os.makedirs(case, exist_ok=True)
    text = eol.join(lines) + (eol if final_eol else "")
    data = text.encode(enc) + raw_tail
    if eof:
        data += b"\x1a"
    with open(os.path.join(case, name), "wb") as fh:
        fh.write(data)

western = [
    "IR,1,13,1,1234567,,架空総合病院,202404,00,03-0000-0000",
    re("1", "202404", "架空　一郎", "1", "19800115", "00012345", "カクウ　イチロウ", "0102"),
    "HO,06139999,１２３,４５６７,2,361,,,,,,1080,,,",
    "KO,54136015,1234567,,2,361,0,,,,,",
    "KH,1",
    "SN,1,01,06139999,１２３,４５６７,01,,",
    jd(),
    mf(),
    "GR,01",
    "SY,3721002,20240403,1,8002,,01,",
    "SY,0000999,20240410,1,,未コード化の架空病名,,",
    act("SI", "111000110", "", "288", "1", 3),
    act("IY", "620098401", "3", "12", "1", 3),
    to("700010000"),
    "CO,11,1,810000001,全角の自由記載コメント",
    "SJ,01,症状の詳記（架空）",
    "NI,1",
    "TI,1",
    "TR,1",
    "TS,1",
    re("2", "202404", "試験　花子", "2", "19951120", "00067890", "シケン　ハナコ"),
    "HO,  133066,記号,番号,1,73,,,,,,220,,,",
    "SY,2749004,20240401,2,,,01,",
    act("SI", "112007410", "", "73", "1", 10),
    "GO,3,434,99",
]
write("western-all-records", "RECEIPTC.UKE", western)
write("western-json", "RECEIPTC.UKE", western)

era = [
    "IR,2,27,1,7654321,,見本医院,43103,00,06-0000-0000",
    re("1", "43103", "見本　次郎", "1", "3450505", "12345", "ミホン　ジロウ"),
    "HO,  270001,１,２,1,100,,,,,,300,,,",
    "SY,3721002,4310109,1,8002,,01,",
    act("SI", "111000110", "", "100", "1", 9),
    "GO,1,100,99",
]
write("era-layout", "RECEIPTC.UKE", era)

bad = [
    "IR,1,13,1,1234567,,架空総合病院,202404,00,03-0000-0000",
    re("1", "202404", "架空　一郎", "1", "20230230", "K-01", "ｶｸｳ ｲﾁﾛｳ", "123"),
    "HO,06139999,１２３,４５６７,2,500,,,,,,1080,,,,EXTRA",
    "SY,372100,4310501,1,80028,,01",
    "SY,3721002,20240401,1,,架空病名の名称がとても長くて四十バイトを超えてしまう例です,,",
    "ZZ,1,2,3",
    "SI,11,1,111000110,,288,1",
    re("2", "202404", "試験　花子", "2", "19951120", "", "シケン　ハナコ"),
    "SY,2749004,20240401,2,,,01,",
    "GO,5,9999,07",
]
# The last record ends with LF only, and the file lacks the 0x1A end mark.
write("malformed", "RECEIPTC.UKE", bad[:-1] + [bad[-1]], eof=False)
with open("malformed/RECEIPTC.UKE", "ab") as fh:
    pass
# Replace the final CR LF by LF to exercise U004.
p = "malformed/RECEIPTC.UKE"
data = open(p, "rb").read()
assert data.endswith(b"\r\n")
open(p, "wb").write(data[:-2] + b"\n")

# Truncated in the middle of a record (no line break, no 0x1A, no GO), plus a vendor-extension character
# (NEC row 13 "①" 0x8740) and an invalid byte pair.
trunc = western[:10]
text = "\r\n".join(trunc).encode("cp932")
text = text.replace("架空総合病院".encode("cp932"), "架空総合病院".encode("cp932") + b"\x87\x40", 1)
text += b"\r\nSY,3721002,202404\x81"
os.makedirs("truncated", exist_ok=True)
open("truncated/RECEIPTC.UKE", "wb").write(text)

# 歯科: UK first; recognised, record level only.
dental = [
    "UK,1,13,3,1234567,,架空歯科医院,202404,00",
    "IR,1,13,3,1234567,,,202404,00,03-0000-0000",
    re("1", "202404", "例示　桜", "2", "20000101", "7", "レイジ　サクラ"),
    "HO,06139999,１,２,1,100,,,,,,300,,,",
    "HS,1,2",
    "SS,11,1,301000110",
    "GO,1,100,99",
]
write("dental", "RECEIPTC.UKE", dental)
write("dental-json", "RECEIPTC.UKE", dental)

# 調剤: IR 点数表 4.
write("pharmacy", "RECEIPTY.UKE", ["IR,1,13,4,1234567,,架空薬局,202404,00,03-0000-0000", "YK,1,2", "GO,0,0,99"])

# A UTF-8 export of the era file, with LF line ends.
write("utf8-export", "RECEIPTC.UKE", era, eol="\n", enc="utf-8")

# --show-phi on the era file.
write("era-json-show-phi", "RECEIPTC.UKE", era)
