"""The matching engine, one rule at a time, on plain data (no database)."""

from datetime import date, timedelta
from decimal import Decimal

from banking.matching import (
    Line,
    OpenInvoice,
    Payer,
    Rules,
    make_book,
    number_keys,
    rf_check_ok,
    rf_reference,
    suggest,
    take,
    text_windows,
)

DAY = date(2026, 11, 1)
ACME, BAKKER, ACMA = 1, 2, 3


def book(*invoices, ibans=None):
    payers = [Payer(ACME, "Acme Trading B.V.", "ACME01"), Payer(BAKKER, "Bakker Logistics GmbH", "BAKK01"),
              Payer(ACMA, "Acma Plastics SARL", "ACMA01")]  # fmt: skip
    return make_book(payers=payers, invoices=list(invoices), iban_owners=ibans or {})


def invoice(pk, number, amount, customer=ACME, days=0, currency="EUR"):
    return OpenInvoice(pk, number, customer, Decimal(amount), currency, DAY + timedelta(days=days))


def line(amount, **fields):
    return Line(Decimal(amount), fields.pop("currency", "EUR"), **fields)


def best(found):
    assert found, "expected a suggestion"
    return found[0]


def numbers(suggestion):
    return [(split.invoice_number, split.amount) for split in suggestion.splits]


def test_rf_reference_check_digits_follow_iso_11649():
    assert rf_check_ok("RF18 5390 0754 7034")  # the standard's own example
    assert not rf_check_ok("RF18 5390 0754 7035")
    assert rf_reference("INV-2026-00412") == "RF37 INV2 0260 0412"


def test_rf_reference_names_the_invoice_and_its_customer():
    found = suggest(
        line("1250.00", structured_reference="RF37INV202600412"),
        book(invoice(1, "INV-2026-00412", "1250.00")),
    )

    top = best(found)
    assert top.customer_id == ACME and numbers(top) == [("INV-2026-00412", Decimal("1250.00"))]
    assert top.confidence >= 0.9
    assert "RF reference RF37 INV2 0260 0412 matches INV-2026-00412" in top.reasons


def test_a_wrong_rf_check_digit_names_nothing():
    found = suggest(
        line("1250.00", structured_reference="RF38INV202600412"),
        book(invoice(1, "INV-2026-00412", "1250.00")),
    )
    assert found == []


def test_invoice_numbers_are_found_through_spaces_dashes_and_lost_zeros():
    assert "INV2026412" in number_keys("INV-2026-00412")
    the_book = book(invoice(1, "INV-2026-00412", "100.00"))
    for text in (
        "INV-2026-00412",
        "inv 2026 00412",
        "INV202600412",
        "invoice INV-2026-412 thanks",
        "2026/00412",
    ):
        top = best(suggest(line("100.00", remittance_text=text), the_book))
        assert numbers(top) == [("INV-2026-00412", Decimal("100.00"))], text
        assert "invoice number INV-2026-00412 in the text" in top.reasons


def test_one_wrong_character_is_forgiven_only_within_a_known_customer():
    the_book = book(invoice(1, "INV-2026-00412", "100.00"), ibans={"NL91ABNA0417164300": (ACME, False)})
    typo = line("100.00", remittance_text="INV-2026-00472", counterparty_iban="NL91ABNA0417164300")

    top = best(suggest(typo, the_book))
    assert numbers(top) == [("INV-2026-00412", Decimal("100.00"))]
    assert "'INV202600472' in the text is one character from INV-2026-00412" in top.reasons
    unknown = suggest(line("100.00", remittance_text="INV-2026-00472"), the_book)
    assert unknown == []


def test_the_customers_own_iban_and_a_learned_iban_name_the_customer():
    the_book = book(
        invoice(1, "INV-1", "70.00"),
        ibans={"NL91ABNA0417164300": (ACME, False), "DE89370400440532013000": (ACME, True)},
    )
    own = best(suggest(line("70.00", counterparty_iban="NL91ABNA0417164300"), the_book))
    learned = best(suggest(line("70.00", counterparty_iban="DE89370400440532013000"), the_book))

    assert own.customer_id == learned.customer_id == ACME
    assert "IBAN NL91ABNA0417164300 is an account of Acme Trading B.V." in own.reasons
    assert "IBAN DE89370400440532013000 confirmed before as Acme Trading B.V." in learned.reasons


def test_the_name_by_similarity_suggests_the_customer_below_the_auto_apply_line():
    the_book = book(invoice(1, "INV-1", "70.00"), invoice(2, "INV-2", "90.00", customer=BAKKER))
    top = best(suggest(line("90.00", counterparty_name="BAKKER LOGISTICS"), the_book))

    assert top.customer_id == BAKKER and numbers(top) == [("INV-2", Decimal("90.00"))]
    assert any(reason.startswith("name 'BAKKER LOGISTICS' is") for reason in top.reasons)
    assert top.confidence < Rules().auto_apply  # a name alone never applies money unseen


def test_an_amount_equal_to_one_open_invoice_picks_it():
    the_book = book(
        invoice(1, "INV-1", "70.00"), invoice(2, "INV-2", "90.00", days=5), ibans={"X1": (ACME, False)}
    )
    the_book.iban_owners = {"NL91ABNA0417164300": (ACME, False)}
    top = best(suggest(line("90.00", counterparty_iban="NL91ABNA0417164300"), the_book))

    assert numbers(top) == [("INV-2", Decimal("90.00"))]
    assert "the amount equals the open amount of INV-2, the only one" in top.reasons


def test_an_amount_equal_to_a_subset_of_open_invoices_picks_the_subset():
    invoices = [
        invoice(1, "INV-1", "70.00"),
        invoice(2, "INV-2", "90.00", days=5),
        invoice(3, "INV-3", "45.50", days=9),
    ]
    the_book = book(*invoices, ibans={"NL91ABNA0417164300": (ACME, False)})
    top = best(suggest(line("115.50", counterparty_iban="NL91ABNA0417164300"), the_book))

    assert numbers(top) == [("INV-1", Decimal("70.00")), ("INV-3", Decimal("45.50"))]
    assert top.confidence >= 0.85


def test_the_subset_search_stops_at_its_budget():
    many = [invoice(pk, f"INV-{pk}", "10.00", days=pk) for pk in range(1, 40)]
    the_book = book(*many, ibans={"NL91ABNA0417164300": (ACME, False)})
    rules = Rules(subset_budget=5)
    top = best(suggest(line("1.00", counterparty_iban="NL91ABNA0417164300"), the_book, rules))

    assert top.splits == () and "on account" in top.reasons[-1]


def test_a_short_payment_within_the_fee_tolerance_pays_the_invoice_and_marks_the_difference():
    the_book = book(invoice(1, "INV-1", "500.00"))
    top = best(suggest(line("492.50", remittance_text="INV-1"), the_book, Rules(fee_tolerance=Decimal("10"))))

    assert numbers(top) == [("INV-1", Decimal("492.50"))] and top.short_invoices == ("INV-1",)
    assert "short by 7.50 EUR: within the bank-fee tolerance" in top.reasons


def test_a_partial_payment_beyond_the_tolerance_is_partial_not_a_fee():
    top = best(suggest(line("200.00", remittance_text="INV-1"), book(invoice(1, "INV-1", "500.00"))))

    assert numbers(top) == [("INV-1", Decimal("200.00"))] and top.short_invoices == ()
    assert "a partial payment: 300.00 EUR of INV-1 stays open" in top.reasons


def test_several_invoice_numbers_in_one_payment_are_paid_oldest_first():
    the_book = book(invoice(1, "INV-1", "100.00", days=3), invoice(2, "INV-2", "50.00"))
    top = best(suggest(line("150.00", remittance_text="INV-1 and INV-2"), the_book))

    assert numbers(top) == [("INV-2", Decimal("50.00")), ("INV-1", Decimal("100.00"))]
    assert top.confidence >= 0.9


def test_other_currencies_are_never_matched():
    found = suggest(
        line("100.00", currency="USD", remittance_text="INV-1"), book(invoice(1, "INV-1", "100.00"))
    )
    assert found == []


def test_an_unknown_payer_gets_no_suggestion():
    assert (
        suggest(line("95.00", counterparty_name="Zeta Holdings Ltd", remittance_text="donation"), book())
        == []
    )


def test_two_customers_fitting_alike_lower_the_confidence():
    the_book = book(invoice(1, "INV-1", "100.00"), invoice(2, "INV-2", "100.00", customer=BAKKER))
    found = suggest(line("100.00", remittance_text="INV-1 INV-2"), the_book)

    assert {suggestion.customer_id for suggestion in found} == {ACME, BAKKER}
    assert found[0].confidence < Rules().auto_apply
    assert "another customer fits almost as well" in found[0].reasons


def test_take_lowers_open_amounts_so_one_import_never_pays_an_invoice_twice():
    the_book = book(invoice(1, "INV-1", "100.00"))
    first = best(suggest(line("100.00", remittance_text="INV-1"), the_book))
    take(the_book, first.splits)

    assert suggest(line("100.00", remittance_text="INV-1"), the_book) == []


def test_text_windows_join_neighbouring_groups():
    assert "INV202600412" in text_windows("pay INV 2026 00412")
    assert "INV2026412" in text_windows("pay INV 2026 00412")
