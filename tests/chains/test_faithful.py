from plait.chains.faithful import check_answer, claims, negated

ROW = ["UK delivery prices: Service: Express delivery (next working day); Price: £6.95"]
KNIVES = ["Warranty periods: Product type: Larkspur own-brand cookware and knives; Warranty: 5 years"]
CRYPTO = ["We can't accept cash on delivery, cheques, cryptocurrency or payment by bank transfer."]


def test_claims_read_prices_durations_and_number_words():
    assert claims("£6.95, 3-5 working days, a 12-month warranty, five years, 9pm") == {
        ("6.95", ""), ("3", ""), ("5", "day"), ("12", "month"), ("5", "year"), ("9", "pm")}


def test_a_number_not_in_the_evidence_is_rejected():
    verdict = check_answer("Express delivery costs £3.95.", ROW)
    assert not verdict.ok and "3.95 is not in the evidence it talks about" in verdict.reasons
    assert check_answer("Express delivery costs £6.95 [1].", ROW).ok


def test_a_duration_must_match_its_unit():
    assert not check_answer("Our own-brand knives have a 12-month warranty.", KNIVES).ok
    assert not check_answer("Own-brand knives have a 5 month warranty.", KNIVES).ok
    assert check_answer("Own-brand knives have a warranty of five years.", KNIVES).ok


def test_polarity_must_match_the_evidence():
    assert not check_answer("Yes, we accept cryptocurrency.", CRYPTO).ok
    assert check_answer("No, we can't accept cryptocurrency.", CRYPTO).ok
    assert negated("No.") and negated("These are non-returnable") and not negated("Yes, you can.")


def test_empty_hedging_and_contentless_answers_are_rejected():
    assert not check_answer("", ROW).ok
    assert not check_answer("Yes, you can.", CRYPTO).ok
    assert not check_answer("I'm not sure, express delivery is £6.95", ROW).ok
    assert not check_answer("Express delivery costs £6.95 and comes with a free umbrella and a hat.", ROW).ok


def test_a_number_from_the_wrong_row_is_rejected():
    rows = ["Service: Express delivery; Price: £6.95", "Service: Standard delivery; Price: £3.95"]
    assert not check_answer("Express delivery costs £3.95.", rows).ok
    assert check_answer("Express delivery costs £6.95.", rows).ok


def test_an_answer_about_other_evidence_than_the_best_match_is_rejected():
    rows = ["Service: Saturday delivery; Price: £9.95", "Service: Standard delivery; Price: £3.95"]
    verdict = check_answer("Standard delivery costs £3.95.", rows)
    assert not verdict.ok and any("best match" in reason for reason in verdict.reasons)


def test_a_bare_number_must_be_the_best_matchs():
    sizes = ["Bed size: Double; Fitted sheet: 135 x 190", "Bed size: Super King; Fitted sheet: 180 x 200"]
    assert not check_answer("180 x 200 [1]", sizes).ok
    assert check_answer("135 x 190 [1]", sizes).ok
