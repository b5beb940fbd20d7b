"""Built-in retention rules, each citing the law it implements.

Presets are frozen tuples of :class:`~finprivacy.retention.RetentionRule` (or small
functions returning one where the law leaves a number to choose); put them in a
:class:`~finprivacy.retention.RetentionSchedule` with the organisation's zone and
fiscal-year end::

    schedule = RetentionSchedule(presets.CN_ACCOUNTING_ARCHIVES_2015, zone="Asia/Shanghai")

or use :func:`china_enterprise`. Presets are a starting point, not legal advice: a
firm's own policy may keep longer, and sector rules may add classes.

Sources:

* 会计档案管理办法 (财政部 国家档案局令第79号, 2015-12-11, in force 2016-01-01), Art. 14
  and Annex 1 (附表1 企业和其他组织会计档案保管期限表). It replaced the 1998 table whose
  15- and 25-year periods are obsolete and are not offered here.
* 金融机构客户身份识别和客户身份资料及交易记录保存管理办法 (中国人民银行 银监会 证监会
  保监会令〔2007〕第2号), Art. 29: at least 5 years; and 中华人民共和国反洗钱法 as revised
  2024-11-08, in force 2025-01-01, reported to lengthen this to at least 10 years.
* Directive (EU) 2015/849 (AMLD4) Art. 40(1).
* US Internal Revenue Service, "How long should I keep records?" and Publication 583;
  26 U.S.C. §6501 and §6511.
* US SEC Rule 17a-4, 17 CFR 240.17a-4(a) and (b).
"""

from __future__ import annotations

from ..errors import RetentionError
from ._model import (
    PERMANENT,
    DisposalAction,
    Duration,
    Granularity,
    RetentionRule,
    RuleKind,
    Trigger,
    is_count,
)
from ._schedule import RetentionSchedule

__all__ = [
    "CN_ACCOUNTING_ARCHIVES_2015",
    "CN_AML_2007",
    "EU_AMLD_ART40",
    "US_IRS",
    "US_SEC_17A4",
    "china_enterprise",
    "cn_aml",
    "eu_amld_art40",
]

_KJDA = ("会计档案管理办法 (财政部 国家档案局令第79号, 2015, in force 2016-01-01), "
         "Art. 14 and 附表1 企业和其他组织会计档案保管期限表: ")


def _kjda(cls: str, title: str, duration: Duration, *,
          trigger: Trigger = Trigger.FISCAL_YEAR_END,
          granularity: Granularity = Granularity.DAY, row: str = "") -> RetentionRule:
    return RetentionRule(
        key=f"cn.kjda2015.{cls}", version="2015", title=title,
        source=_KJDA + (row or f"{title.split(' ')[0]} {duration.label_zh}"),
        record_classes=frozenset({cls}), duration=duration, trigger=trigger,
        granularity=granularity, action=DisposalAction.DELETE,
    )


_30 = Duration(years=30)
_10 = Duration(years=10)

CN_ACCOUNTING_ARCHIVES_2015: tuple[RetentionRule, ...] = (
    _kjda("source_voucher", "原始凭证 source vouchers", _30),
    _kjda("bookkeeping_voucher", "记账凭证 bookkeeping vouchers", _30),
    _kjda("general_ledger", "总账 general ledger", _30),
    _kjda("subsidiary_ledger", "明细账 subsidiary ledgers", _30),
    _kjda("journal_book", "日记账 cash and bank journals", _30),
    _kjda("fixed_asset_card", "固定资产卡片 fixed-asset cards", Duration(years=5),
          trigger=Trigger.ASSET_DISPOSED, granularity=Granularity.YEAR,
          row="固定资产卡片 固定资产报废清理后保管5年"),
    _kjda("auxiliary_book", "其他辅助性账簿 other auxiliary books", _30),
    _kjda("interim_financial_report", "月度、季度、半年度财务会计报告 interim reports", _10),
    _kjda("annual_financial_report", "年度财务会计报告 annual financial reports", PERMANENT),
    _kjda("bank_reconciliation", "银行存款余额调节表 bank reconciliations", _10),
    _kjda("bank_statement", "银行对账单 bank statements", _10),
    _kjda("tax_return", "纳税申报表 tax returns", _10),
    _kjda("archive_handover_list", "会计档案移交清册 archive hand-over lists", _30),
    _kjda("archive_custody_list", "会计档案保管清册 archive custody lists", PERMANENT),
    _kjda("archive_destruction_list", "会计档案销毁清册 archive destruction lists", PERMANENT),
    _kjda("archive_appraisal_opinion", "会计档案鉴定意见书 archive appraisal opinions",
          PERMANENT),
)
"""China, 会计档案管理办法 (2015) Annex 1 for enterprises and other organisations.

Vouchers, ledgers, journals, other auxiliary books and archive hand-over lists 30
years; interim (monthly, quarterly, half-year) reports, bank reconciliations, bank
statements and tax returns 10 years; annual reports, archive custody lists,
destruction lists and appraisal opinions permanently; fixed-asset cards 5 years after
the asset is disposed of (报废清理), rounded to the end of that fiscal year. Periods are
minimums (Art. 15) and run from the day after the fiscal year ends (Art. 14)."""

_AML_2007 = ("金融机构客户身份识别和客户身份资料及交易记录保存管理办法 "
             "(中国人民银行令〔2007〕第2号) "
             "Art. 29: at least 5 years from the year the relationship ends or the "
             "transaction is booked")
_AML_2024 = ("中华人民共和国反洗钱法 (revised 2024-11-08, in force 2025-01-01), record-keeping "
             "article: reported to require at least 10 years after the relationship or "
             "transaction ends")


def cn_aml(years: int = 10) -> tuple[RetentionRule, ...]:
    """China AML customer identification data and transaction records, ``years`` long.

    The 2007 measures (中国人民银行令〔2007〕第2号 Art. 29) require at least 5 years,
    counted from the year the business relationship ends (customer identification
    data) or the transaction is booked (transaction records; identification data of
    occasional customers). The revised Anti-Money Laundering Law in force since
    2025-01-01 is reported to lengthen this to 10 years; the default follows it, and
    ``years=5`` gives the 2007 period. Both sources are cited on every rule. Periods
    end with the fiscal year in which they run out ("自…当年计起").
    """
    if not is_count(years, 1):
        raise RetentionError("cn_aml(years=...) needs a positive whole number of years")
    source = f"{_AML_2007}; {_AML_2024}; preset period {years} years"
    duration = Duration(years=years)

    def rule(cls: str, title: str, trigger: Trigger) -> RetentionRule:
        return RetentionRule(
            key=f"cn.aml.{cls}", version=f"{years}y", title=title, source=source,
            record_classes=frozenset({f"aml.{cls}"}), duration=duration, trigger=trigger,
            granularity=Granularity.YEAR, action=DisposalAction.DELETE,
        )

    return (
        rule("customer_identification", "客户身份资料 customer identification data",
             Trigger.RELATIONSHIP_END),
        rule("occasional_customer_identification",
             "一次性交易客户身份资料 occasional customers' identification data",
             Trigger.TRANSACTION_BOOKED),
        rule("transaction_record", "交易记录 transaction records", Trigger.TRANSACTION_BOOKED),
    )


CN_AML_2007: tuple[RetentionRule, ...] = cn_aml(5)
"""The 5-year period of the 2007 measures (Art. 29), for records it alone governs."""

_AMLD = "Directive (EU) 2015/849 Art. 40(1)"


def eu_amld_art40(extension_years: int = 0) -> tuple[RetentionRule, ...]:
    """EU AMLD4 Art. 40(1): keep CDD documents and transaction records 5 years, then delete.

    Copies of customer due diligence documents (Art. 40(1)(a)) and transaction records
    (Art. 40(1)(b)) are kept for five years after the end of the business relationship
    or after the date of an occasional transaction; on expiry personal data must be
    deleted unless national law provides otherwise, so each class gets a minimum and a
    maximum rule. A Member State may allow or require up to five further years after a
    thorough assessment (Art. 40(1), second subparagraph): ``extension_years``.
    """
    if not is_count(extension_years, 0, 5):
        raise RetentionError("eu_amld_art40(extension_years=...) must be 0 to 5")
    years = 5 + extension_years
    duration = Duration(years=years)
    out: list[RetentionRule] = []
    for cls, title, trigger, point in (
        ("customer_identification", "CDD documents", Trigger.RELATIONSHIP_END, "(a)"),
        ("occasional_customer_identification", "CDD documents, occasional transactions",
         Trigger.TRANSACTION_BOOKED, "(a)"),
        ("transaction_record", "transaction records", Trigger.RELATIONSHIP_END, "(b)"),
        ("occasional_transaction_record", "occasional transaction records",
         Trigger.TRANSACTION_BOOKED, "(b)"),
    ):
        for kind in (RuleKind.MINIMUM, RuleKind.MAXIMUM):
            out.append(RetentionRule(
                key=f"eu.amld.art40.{cls}.{kind.value}", version=f"{years}y", title=title,
                source=f"{_AMLD}{point}" + (
                    "" if kind is RuleKind.MINIMUM else
                    ", deletion on expiry (Art. 40(1) second subparagraph)"),
                record_classes=frozenset({f"aml.{cls}"}), duration=duration,
                trigger=trigger, kind=kind, action=DisposalAction.DELETE,
            ))
    return tuple(out)


EU_AMLD_ART40: tuple[RetentionRule, ...] = eu_amld_art40()
"""EU AMLD4 Art. 40(1) with no national extension: 5 years, then deletion."""

_IRS = 'US IRS, "How long should I keep records?" and Publication 583'

US_IRS: tuple[RetentionRule, ...] = (
    RetentionRule(
        key="us.irs.return_support", title="records supporting a tax return",
        source=f"{_IRS}: 3 years (26 U.S.C. §6501(a) period of limitations)",
        record_classes=frozenset({"tax.return_support"}), duration=Duration(years=3),
        trigger=Trigger.CUSTOM, event="return_filed"),
    RetentionRule(
        key="us.irs.underreported_income", title="records where income was underreported",
        source=f"{_IRS}: 6 years if income over 25% of gross was not reported "
               "(26 U.S.C. §6501(e))",
        record_classes=frozenset({"tax.underreported_income_support"}),
        duration=Duration(years=6), trigger=Trigger.CUSTOM, event="return_filed"),
    RetentionRule(
        key="us.irs.bad_debt_worthless_securities",
        title="records for a bad-debt or worthless-securities deduction",
        source=f"{_IRS}: 7 years (26 U.S.C. §6511(d)(1))",
        record_classes=frozenset({"tax.bad_debt_support"}), duration=Duration(years=7),
        trigger=Trigger.CUSTOM, event="return_filed"),
    RetentionRule(
        key="us.irs.employment_tax", title="employment tax records",
        source=f"{_IRS}: at least 4 years after the tax becomes due or is paid, "
               "whichever is later (event 'employment_tax_due_or_paid' is the later date)",
        record_classes=frozenset({"tax.employment_tax_record"}), duration=Duration(years=4),
        trigger=Trigger.CUSTOM, event="employment_tax_due_or_paid"),
)
"""US IRS guidance: 3 years from filing; 6 if income was underreported by more than 25%;
7 for bad-debt or worthless-securities deductions; employment tax 4 years. The
application records the ``return_filed`` (or ``employment_tax_due_or_paid``) event;
records of years with no return or a fraudulent one must be kept indefinitely and are
not covered by these rules."""

_SEC = "US SEC Rule 17a-4, 17 CFR 240.17a-4"

US_SEC_17A4: tuple[RetentionRule, ...] = (
    RetentionRule(
        key="us.sec17a4.a", title="blotters, ledgers and securities records",
        source=f"{_SEC}(a): not less than 6 years, the first 2 easily accessible "
               "(records made under 17a-3(a)(1)-(3), (5), (21), (22))",
        record_classes=frozenset({"sec.blotter", "sec.general_ledger",
                                  "sec.customer_account_ledger", "sec.securities_record"}),
        duration=Duration(years=6), action=DisposalAction.DELETE),
    RetentionRule(
        key="us.sec17a4.b", title="order tickets, trial balances and communications",
        source=f"{_SEC}(b): not less than 3 years, the first 2 easily accessible "
               "(e.g. order memoranda, trial balances, business communications)",
        record_classes=frozenset({"sec.order_ticket", "sec.trial_balance",
                                  "sec.communication"}),
        duration=Duration(years=3), action=DisposalAction.DELETE),
)
"""US broker-dealers, SEC Rule 17a-4: 6 years for 17a-4(a) records, 3 for 17a-4(b)."""


def china_enterprise(*, zone: str = "Asia/Shanghai", fiscal_year_end: tuple[int, int] = (12, 31),
                     aml_years: int | None = None, name: str = "") -> RetentionSchedule:
    """Build a schedule for a Chinese enterprise.

    It holds the 2015 accounting archive table, plus the AML rules (:func:`cn_aml`)
    when ``aml_years`` is given.

    The fiscal year is the calendar year by default (会计法 Art. 11).
    """
    rules: tuple[RetentionRule, ...] = CN_ACCOUNTING_ARCHIVES_2015
    if aml_years is not None:
        rules = (*rules, *cn_aml(aml_years))
    return RetentionSchedule(rules, zone=zone, fiscal_year_end=fiscal_year_end,
                             name=name or "会计档案管理办法 2015")
