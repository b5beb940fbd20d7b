"""The Faker provider (issue 17): every value validates with finprivacy and stdnum."""

from __future__ import annotations

import datetime as dt

import pytest

faker = pytest.importorskip("faker")
stdnum = pytest.importorskip("stdnum")

from stdnum import iban as std_iban  # noqa: E402
from stdnum import luhn  # noqa: E402
from stdnum.cn import ric, uscc  # noqa: E402

import finprivacy as fp  # noqa: E402
from finprivacy.faker import FinPrivacyProvider  # noqa: E402
from finprivacy.identifiers import (  # noqa: E402
    bank_card,
    cn_bank_account,
    cn_id,
    cn_phone,
    cn_uscc,
    iban,
)

pytest_plugins = ["finprivacy.testing.pytest_plugin"]
N = 300


@pytest.fixture
def fake() -> faker.Faker:
    f = faker.Faker("zh_CN")
    f.add_provider(FinPrivacyProvider)
    f.seed_instance(11)
    return f


def test_resident_ids_validate(fake: faker.Faker) -> None:
    for _ in range(N):
        number = fake.cn_resident_id()
        assert cn_id.validate(number) == number and ric.is_valid(number)


def test_resident_id_options(fake: faker.Faker) -> None:
    born = dt.date(1988, 2, 29)
    for sex in ("F", "M"):
        for _ in range(20):
            number = fake.cn_resident_id(region="440305", birth_date=born, sex=sex)
            assert number.startswith("44030519880229")
            assert int(number[16]) % 2 == (1 if sex == "M" else 0)
            assert cn_id.birth_date(number) == born and ric.is_valid(number)
    with pytest.raises(fp.ConfigurationError, match="province"):
        fake.cn_resident_id(region="990101")
    with pytest.raises(fp.ConfigurationError, match="sex"):
        fake.cn_resident_id(sex="X")


def test_credit_codes_cards_accounts_mobiles_and_ibans_validate(fake: faker.Faker) -> None:
    for _ in range(N):
        code = fake.cn_uscc()
        assert cn_uscc.validate(code) == code and uscc.is_valid(code)
        card = fake.unionpay_card()
        assert bank_card.validate(card) == card and luhn.is_valid(card)
        assert card.startswith("62") and len(card) in (16, 19)
        account = fake.cn_bank_account()
        assert cn_bank_account.validate(account) == account and len(account) == 19
        mobile = fake.cn_mobile()
        assert cn_phone.validate(mobile) == mobile
        number = fake.iban()
        assert iban.validate(number) == number and std_iban.is_valid(number)
    for country in sorted(iban.BBAN_LAYOUTS):
        number = fake.iban(country)
        assert iban.validate(number) == number
        if country not in ("BE", "ES", "ME", "NO"):  # national check digits not made
            assert std_iban.is_valid(number), country
    with pytest.raises(fp.ConfigurationError):
        fake.iban("XX")
    with pytest.raises(fp.ConfigurationError):
        fake.cn_bank_account(9)


def test_values_are_reproducible_and_found_by_the_scanner(fake: faker.Faker) -> None:
    other = faker.Faker("zh_CN")
    other.add_provider(FinPrivacyProvider)
    other.seed_instance(11)
    assert [fake.cn_resident_id() for _ in range(5)] == [
        other.cn_resident_id() for _ in range(5)]
    text = (f"身份证{fake.cn_resident_id()}，卡号{fake.unionpay_card()}，"
            f"手机{fake.cn_mobile()}，IBAN {fake.iban('DE')}")
    assert [f.kind for f in fp.scan(text)] == ["cn_id", "bank_card", "cn_phone", "iban"]


def test_the_plugin_fixture(fp_fake: faker.Faker) -> None:
    assert cn_id.is_valid(fp_fake.cn_resident_id())
    assert fp_fake.name()  # a normal Faker otherwise
