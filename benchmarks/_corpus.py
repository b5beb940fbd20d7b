"""A labelled corpus of synthetic bookkeeping text for detection quality and speed.

Chinese and English bookkeeping notes, transfer memos, support-chat lines and invoice
lines, with every identifier labelled by kind and span, and with hard negatives
labelled by category: look-alikes that fail their checksum (ID, card, IBAN, credit
code), order ids, invoice numbers, serial numbers, tracking numbers, amounts, dates
and bank hotlines (95588, 400/800 numbers). Every value is generated (no real
person's data); the same seed gives the same corpus.

``evaluate(samples, finder)`` scores any finder returning ``(start, end, kind)``
triples: per-kind precision, recall and F1 for Chinese and English text separately,
and the share of hard negatives flagged.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["KINDS", "Sample", "Score", "evaluate", "generate", "generate_exports"]

KINDS = ("cn_id", "cn_uscc", "bank_card", "iban", "cn_phone", "phone", "email", "us_ssn",
         "cn_passport", "cn_bank_account")


@dataclass(frozen=True)
class Sample:
    text: str
    lang: str
    entities: tuple[tuple[int, int, str], ...]
    negatives: tuple[tuple[int, int, str], ...]


# ---------------------------------------------------------------- checksums (independent)

def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def _luhn_ok(digits: str) -> bool:
    return _luhn_digit(digits[:-1]) == digits[-1]


def _id_check(body: str) -> str:
    total = sum(int(c) * (2 ** (17 - i) % 11) for i, c in enumerate(body))
    return "10X98765432"[total % 11]


_USCC = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _uscc_check(body: str) -> str:
    total = sum(_USCC.index(c) * w for c, w in zip(body, _USCC_W, strict=True))
    return _USCC[(31 - total % 31) % 31]


def _iban_check(cc: str, bban: str) -> str:
    num = int("".join(str(int(c, 36)) for c in bban + cc + "00"))
    return f"{98 - num % 97:02d}"


# ---------------------------------------------------------------- value generators

_REGIONS = ("110101", "110105", "310104", "310115", "440305", "440106", "330106", "320102",
            "510104", "420106", "610113", "500103", "370202", "210102", "230103", "350203",
            "430104", "120101", "130102", "650102", "450103", "530102")
_ZH_NAMES = ("张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇", "欧阳娜娜", "司马光明",
             "周杰", "吴霞", "徐涛", "孙丽", "诸葛亮")
_EN_NAMES = ("John Smith", "Mary Johnson", "David Lee", "Sarah Brown", "Wei Zhang",
             "Emma Wilson")
_BANKS = ("招商银行深圳分行", "中国工商银行北京朝阳支行",
          "建设银行上海浦东支行", "中国银行广州天河支行")
_MOBILE = ("130", "131", "135", "136", "138", "139", "147", "150", "151", "152", "157", "158",
           "159", "166", "170", "176", "177", "180", "181", "185", "186", "187", "188", "189",
           "191", "198", "199")
_DOMAINS = ("qq.com", "163.com", "example.com", "lotus-bookkeeping.cn", "gmail.com", "126.com")


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _group(rng: random.Random, value: str, sizes: Iterable[int], sep: str) -> str:
    out, i = [], 0
    for s in sizes:
        if i >= len(value):
            break
        out.append(value[i:i + s])
        i += s
    if i < len(value):
        out.append(value[i:])
    return sep.join(out)


def _cn_id(rng: random.Random) -> str:
    born = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(20000))
    body = rng.choice(_REGIONS) + born.strftime("%Y%m%d") + _digits(rng, 3)
    return body + _id_check(body)


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice((("622202", 19), ("622848", 19), ("621700", 19),
                                 ("622588", 16), ("623058", 19), ("625911", 16), ("4", 16),
                                 ("51", 16), ("55", 16), ("37", 15), ("6011", 16)))
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return body + _luhn_digit(body)


def _fmt_card(rng: random.Random, value: str, zh: bool) -> str:
    r = rng.random()
    if r < 0.55:
        return value
    sep = "-" if r < 0.65 else ("\u3000" if zh and r < 0.7 else " ")
    return _group(rng, value, (4, 4, 4, 4), sep) if len(value) != 15 else _group(
        rng, value, (4, 6), sep)


def _iban(rng: random.Random) -> str:
    cc, shape = rng.choice((("DE", "18n"), ("GB", "4a14n"), ("FR", "23n"), ("NL", "4a10n"),
                            ("ES", "20n"), ("CH", "17n"), ("BE", "12n"), ("IT", "1a22n")))
    bban = ""
    for count, typ in re.findall(r"(\d+)([an])", shape):
        pool = "ABCDEFGHIJKLMNOPQRSTUVWXYZ" if typ == "a" else "0123456789"
        bban += "".join(rng.choice(pool) for _ in range(int(count)))
    return cc + _iban_check(cc, bban) + bban


def _fmt_iban(rng: random.Random, value: str) -> str:
    return _group(rng, value, [4] * 9, " ") if rng.random() < 0.5 else value


def _mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE) + _digits(rng, 8)


def _cn_phone(rng: random.Random) -> str:
    r = rng.random()
    m = _mobile(rng)
    if r < 0.4:
        return m
    if r < 0.55:
        return f"{m[:3]} {m[3:7]} {m[7:]}"
    if r < 0.65:
        return f"{m[:3]}-{m[3:7]}-{m[7:]}"
    if r < 0.78:
        return rng.choice(("+86 ", "+86-", "0086 ", "+86")) + m
    area = rng.choice(("010", "021", "020", "0755", "0571", "028"))
    sub = rng.choice("2345678") + _digits(rng, 7)
    return rng.choice((f"{area}-{sub}", f"({area}) {sub[:4]} {sub[4:]}",
                       f"{area}-{sub[:4]}-{sub[4:]}"))


def _phone(rng: random.Random) -> str:
    kind = rng.randrange(6)
    if kind == 0:
        return f"+44 20 {rng.randrange(7000, 8000)} {_digits(rng, 4)}"
    if kind == 1:
        area = rng.choice(("212", "415", "646", "617", "312", "206"))
        return f"+1 {area}-{rng.randrange(200, 999)}-{_digits(rng, 4)}"
    if kind == 2:
        return f"+49 30 {rng.randrange(2, 9)}{_digits(rng, 7)}"
    if kind == 3:
        return f"+81 3-{_digits(rng, 4)}-{_digits(rng, 4)}"
    if kind == 4:
        return f"+65 6{_digits(rng, 3)} {_digits(rng, 4)}"
    return f"+852 2{_digits(rng, 3)} {_digits(rng, 4)}"


def _email(rng: random.Random) -> str:
    user = rng.choice(("zhang.wei", "wangfang88", "li_na", "john.smith", "mary+tax", "chen.j",
                       "finance", "david.lee2024"))
    return f"{user}@{rng.choice(_DOMAINS)}"


def _ssn(rng: random.Random) -> str:
    while True:
        area = rng.randrange(1, 900)
        if area != 666:
            break
    value = f"{area:03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"
    return value


def _passport(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return "E" + _digits(rng, 8)
    return "E" + rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + _digits(rng, 7)


def _account(rng: random.Random) -> str:
    while True:
        value = rng.choice("1234") + _digits(rng, rng.randrange(11, 21))
        if not (_luhn_ok(value) and value[0] in "2345"):
            return value


def _uscc(rng: random.Random) -> str:
    body = rng.choice(("91", "92", "93", "12", "52")) + rng.choice(_REGIONS) + "".join(
        rng.choice(_USCC) for _ in range(9))
    return body + _uscc_check(body)


# ---------------------------------------------------------------- hard negatives

def _spoil(rng: random.Random, value: str, check: Callable[[str], bool]) -> str:
    while True:
        i = len(value) - 1 if rng.random() < 0.6 else rng.randrange(len(value))
        if not value[i].isdigit():
            continue
        spoiled = value[:i] + str((int(value[i]) + rng.randrange(1, 10)) % 10) + value[i + 1:]
        if not check(spoiled):
            return spoiled


def _bad_id(rng: random.Random) -> str:
    return _spoil(rng, _cn_id(rng), lambda v: _id_check(v[:17]) == v[17])


def _bad_card(rng: random.Random) -> str:
    return _spoil(rng, _card(rng), _luhn_ok)


def _bad_iban(rng: random.Random) -> str:
    value = _iban(rng)
    return _spoil(rng, value, lambda v: _iban_check(v[:2], v[4:]) == v[2:4])


def _bad_uscc(rng: random.Random) -> str:
    value = _uscc(rng)
    while True:
        c = rng.choice(_USCC)
        if c != value[17]:
            return value[:17] + c


def _date(rng: random.Random) -> dt.date:
    return dt.date(2023, 1, 1) + dt.timedelta(days=rng.randrange(700))


_NEGATIVES: dict[str, Callable[[random.Random], str]] = {
    "bad_cn_id": _bad_id,
    "bad_card": lambda rng: _bad_card(rng),
    "bad_iban": lambda rng: _fmt_iban(rng, _bad_iban(rng)),
    "bad_uscc": _bad_uscc,
    "order_id": lambda rng: rng.choice((
        _date(rng).strftime("%Y%m%d") + _digits(rng, 10),
        "DD" + _date(rng).strftime("%Y%m%d") + _digits(rng, 6),
        f"SO{_date(rng):%Y%m%d}{_digits(rng, 5)}",
        f"A-{_date(rng):%Y%m%d}-{_digits(rng, 4)}",
        _date(rng).strftime("%y%m%d") + _digits(rng, 12))),
    "invoice_no": lambda rng: rng.choice((
        "2" + rng.choice("34") + _digits(rng, 18), _digits(rng, 8),
        f"INV-{_date(rng).year}-{_digits(rng, 5)}", "0" + rng.choice("345") + _digits(rng, 10))),
    "serial": lambda rng: rng.choice((
        "C02" + "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(9)),
        f"{_digits(rng, 4)}-{_digits(rng, 4)}-{_digits(rng, 4)}",
        "SN" + _digits(rng, 12))),
    "tracking": lambda rng: rng.choice(("SF" + _digits(rng, 12), "YT" + _digits(rng, 13),
                                        "JD" + _digits(rng, 13))),
    "amount": lambda rng: rng.choice((
        f"¥{rng.randrange(1, 10**7):,}.{_digits(rng, 2)}", f"{rng.randrange(10**4, 10**8)}.00元",
        f"${rng.randrange(1, 10**6):,}.{_digits(rng, 2)}", f"{rng.randrange(10**3, 10**6):,}元",
        f"人民币{rng.randrange(10**6, 10**9)}.{_digits(rng, 2)}元")),
    "date": lambda rng: rng.choice((
        _date(rng).isoformat(), f"{_date(rng):%Y年%m月%d日}", f"{_date(rng):%d/%m/%Y}",
        f"{_date(rng):%Y%m%d}")),
    "hotline": lambda rng: rng.choice((
        "95588", "95555", "95533", "95566", "10086", "400-820-8820", "400 699 8888",
        "4006998888", "800-830-8888", "8008308888",
        "400-" + _digits(rng, 3) + "-" + _digits(rng, 4))),
}

_ENTITIES: dict[str, Callable[[random.Random, bool], tuple[str, str]]] = {
    "cn_id": lambda rng, zh: ("cn_id", (lambda v: v if rng.random() < 0.9 else
                                        _group(rng, v, (6, 8, 4), " "))(_cn_id(rng))),
    "bank_card": lambda rng, zh: ("bank_card", _fmt_card(rng, _card(rng), zh)),
    "iban": lambda rng, zh: ("iban", _fmt_iban(rng, _iban(rng))),
    "cn_phone": lambda rng, zh: ("cn_phone", _cn_phone(rng)),
    "phone": lambda rng, zh: ("phone", _phone(rng)),
    "email": lambda rng, zh: ("email", _email(rng)),
    "us_ssn": lambda rng, zh: ("us_ssn", _ssn(rng)),
    "cn_passport": lambda rng, zh: ("cn_passport", _passport(rng)),
    "cn_bank_account": lambda rng, zh: ("cn_bank_account", (lambda v: v if rng.random() < 0.7
                                        else _group(rng, v, (4, 4, 4, 4, 4), " "))(_account(rng))),
    "cn_uscc": lambda rng, zh: ("cn_uscc", _uscc(rng)),
}

_ZH_TEMPLATES = (
    "客户{name}，身份证{cn_id}，手机{cn_phone}，已完成开户核验。",
    "{name}的工资卡卡号{bank_card}，开户行{bank}。",
    "转账备注：付{name}货款，收款账号{cn_bank_account}，开户行：{bank}，金额{amount}，日期{date}。",
    "你好，我卡号是{bank_card}，手机号{cn_phone}，麻烦帮我查下{date}那笔{amount}的报销",
    "发票号码{invoice_no}，购方税号{cn_uscc}，金额{amount}，开票日期{date}",
    "客服热线{hotline}，订单号{order_id}，请勿向他人透露验证码。",
    "核对：身份证号{bad_cn_id}校验失败，请客户重新提供。",
    "卡号{bad_card}无效，已退回；订单{order_id}金额{amount}",
    "护照号码{cn_passport}，邮箱{email}，电话{cn_phone}",
    "对公账户{cn_bank_account}，纳税人识别号{cn_uscc}",
    "序列号{serial}，设备已登记，{date}到期",
    "海外汇款 IBAN {iban}，收款人{name}，手机{cn_phone}",
    "请联系{name}：{cn_phone}，或发邮件至{email}",
    "{name}身份证号码：{cn_id}；银行卡：{bank_card}",
    "快递单号{tracking}已签收，如有问题请拨打{hotline}",
    "客户提供的IBAN {bad_iban}校验不通过",
    "统一社会信用代码{bad_uscc}有误，请核实",
    "报销单{order_id}：{name}，{amount}，{date}，卡号{bank_card}",
    "工单：{name}来电{cn_phone}，要求修改预留手机，身份证{cn_id}",
    "发票代码{invoice_no}，发票号码{invoice_no}，税额{amount}",
)
_EN_TEMPLATES = (
    "Client {ename}, SSN {us_ssn}, card {bank_card}, phone {phone}.",
    "Wire transfer to IBAN {iban}, ref {invoice_no}, amount {amount}, value date {date}.",
    "hi, my card number is {bank_card}, can you check the charge of {amount} on {date}?",
    "Invoice {invoice_no} for order {order_id}: total {amount}, due {date}.",
    "Please call {ename} on {phone} or email {email}.",
    "Customer service hotline {hotline}; device serial {serial}.",
    "Card {bad_card} was declined (invalid number).",
    "Account number {cn_bank_account} at China Merchants Bank, SWIFT CMBCCNBS.",
    "Passport {cn_passport}, mobile {cn_phone}, email {email}.",
    "Order {order_id} shipped, tracking {tracking}, paid {amount}.",
    "IBAN {bad_iban} failed validation, please resend.",
    "ID card {cn_id} verified for {ename} on {date}.",
    "Vendor tax id {cn_uscc}, invoice {invoice_no}, credit code {bad_uscc} rejected.",
    "Payroll: {ename}, SSN {us_ssn}, deposit to IBAN {iban}.",
    "Refund {amount} to card {bank_card} (order {order_id}).",
    "New contact: {ename}, {email}, {phone}",
)

# Rows of the files firms export: CSV (with quoted amounts), TSV, JSON Lines and fixed
# width, each with a header-like or a neighbouring short field next to identifiers.
_EXPORT_ZH = (
    "{name},{cn_id},{bank_card},{cn_phone},\"{amount}\",{date}",
    "{cn_id},35,{name},{cn_phone}",
    "{name}\t{cn_id}\t{bank}\t{date}",
    '{{"户名": "{name}", "收款账号": "{cn_bank_account}", "开户行": "{bank}"}}',
    "{name}\t{cn_phone}\t{email}\t{hotline}\t{order_id}",
    '{{"姓名": "{name}", "身份证号": "{cn_id}", "手机": "{cn_phone}", "订单": "{order_id}"}}',
    '{{"name": "{name}", "card": "{bank_card}", "amount": "{amount}", "invoice": "{invoice_no}"}}',
    "{name}      {cn_id}    {cn_phone}   {date}",
    "{cn_uscc},{name},{invoice_no},\"{amount}\"",
    "{order_id};{name};{bank_card};{cn_phone}",
    "{bad_cn_id},{name},{bad_card},{tracking}",
)
_EXPORT_EN = (
    "{ename},{us_ssn},{bank_card},{phone},\"{amount}\",{date}",
    "{us_ssn},42,{ename},{email}",
    "{ename}\t{iban}\t{amount}\t{date}",
    "{ename}|{bank_card}|{invoice_no}|{order_id}",
    '{{"name": "{ename}", "ssn": "{us_ssn}", "phone": "{phone}", "serial": "{serial}"}}',
    '{{"iban": "{iban}", "amount": "{amount}", "ref": "{invoice_no}"}}',
    "{ename}          {us_ssn}   {email}    {date}",
    "{bad_card},{ename},{bad_iban},{hotline}",
    "{cn_passport};{ename};{cn_phone};{tracking}",
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _render(rng: random.Random, template: str, zh: bool) -> Sample:
    parts: list[str] = []
    entities: list[tuple[int, int, str]] = []
    negatives: list[tuple[int, int, str]] = []
    pos = 0
    length = 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(template[pos:m.start()])
        length += m.start() - pos
        name = m.group(1)
        if name in _ENTITIES:
            kind, value = _ENTITIES[name](rng, zh)
            entities.append((length, length + len(value), kind))
        elif name in _NEGATIVES:
            value = _NEGATIVES[name](rng)
            negatives.append((length, length + len(value), name))
        elif name == "name":
            value = rng.choice(_ZH_NAMES)
        elif name == "ename":
            value = rng.choice(_EN_NAMES)
        else:
            value = rng.choice(_BANKS)
        parts.append(value)
        length += len(value)
        pos = m.end()
    parts.append(template[pos:])
    text = "".join(parts)
    if zh and rng.random() < 0.08:
        text = text.translate(_FULLWIDTH)
    return Sample(text, "zh" if zh else "en", tuple(entities), tuple(negatives))


def generate(n: int, seed: int = 0) -> list[Sample]:
    """Return ``n`` labelled samples, about 60% Chinese and 40% English."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        zh = rng.random() < 0.6
        out.append(_render(rng, rng.choice(_ZH_TEMPLATES if zh else _EN_TEMPLATES), zh))
    return out


def generate_exports(n: int, seed: int = 0) -> list[Sample]:
    """Return ``n`` labelled export rows (CSV, TSV, JSON Lines, fixed width), half zh, half en."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        zh = rng.random() < 0.5
        template = rng.choice(_EXPORT_ZH if zh else _EXPORT_EN)
        sample = _render(rng, template.replace("{{", "\x00").replace("}}", "\x01"), zh)
        text = sample.text.replace("\x00", "{").replace("\x01", "}")
        out.append(Sample(text, sample.lang, sample.entities, sample.negatives))
    return out


@dataclass
class Score:
    tp: dict[tuple[str, str], int] = field(default_factory=dict)
    fp: dict[tuple[str, str], int] = field(default_factory=dict)
    fn: dict[tuple[str, str], int] = field(default_factory=dict)
    negatives: int = 0
    negatives_flagged: int = 0
    flagged_by_category: dict[str, int] = field(default_factory=dict)

    def prf(self, kind: str | None = None, lang: str | None = None) -> tuple[float, float, float]:
        def total(d: dict[tuple[str, str], int]) -> int:
            return sum(v for (k, la), v in d.items()
                       if (kind is None or k == kind) and (lang is None or la == lang))
        tp, fp, fn = total(self.tp), total(self.fp), total(self.fn)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return p, r, f

    def support(self, kind: str, lang: str | None = None) -> int:
        return sum(v for (k, la), v in {**self.fn}.items() if k == kind and (
            lang is None or la == lang)) + sum(v for (k, la), v in self.tp.items()
                                              if k == kind and (lang is None or la == lang))

    @property
    def negative_rate(self) -> float:
        return self.negatives_flagged / self.negatives if self.negatives else 0.0


def evaluate(samples: Iterable[Sample],
             finder: Callable[[str], Iterable[tuple[int, int, str]]]) -> Score:
    """Score ``finder`` on ``samples`` by exact span and kind."""
    score = Score()

    def bump(d: dict[tuple[str, str], int], key: tuple[str, str]) -> None:
        d[key] = d.get(key, 0) + 1

    for s in samples:
        found = set(finder(s.text))
        truth = set(s.entities)
        for e in truth:
            bump(score.tp if e in found else score.fn, (e[2], s.lang))
        for f in found - truth:
            bump(score.fp, (f[2], s.lang))
        for ns, ne, cat in s.negatives:
            score.negatives += 1
            if any(fs < ne and fe > ns for fs, fe, _ in found):
                score.negatives_flagged += 1
                score.flagged_by_category[cat] = score.flagged_by_category.get(cat, 0) + 1
    return score
