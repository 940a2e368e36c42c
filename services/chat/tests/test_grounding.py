"""Grounded numbers: what counts as a number in an answer, and when a tool result holds it."""

from __future__ import annotations

import pytest

from marketscope_chat.grounding import (
    CandidateIndex,
    GroundedNumber,
    GroundingSource,
    NumberMention,
    extract_numbers,
    ground,
    stated_values,
)


def texts(text: str) -> list[str]:
    return [mention.text for mention in extract_numbers(text)]


def values(text: str) -> list[float]:
    return [mention.value for mention in extract_numbers(text)]


def only(text: str) -> NumberMention:
    (mention,) = extract_numbers(text)
    return mention


# --- extraction ------------------------------------------------------------------------


def test_a_number_keeps_its_text_span_and_decimals() -> None:
    text = "AAPL closed at 187.2049 today"
    mention = only(text)
    assert mention == NumberMention(
        text="187.2049",
        value=187.2049,
        unit="plain",
        scale=1.0,
        decimals=4,
        signed=False,
        span=(15, 23),
        currency=None,
    )
    assert text[slice(*mention.span)] == "187.2049"


@pytest.mark.parametrize(
    ("text", "value", "decimals"),
    [
        ("a close of 187.20", 187.2, 2),
        ("a close of 187.2", 187.2, 1),
        ("a close of 187", 187.0, 0),
        ("a ratio of .5", 0.5, 1),
        ("a volume of 1,234,567", 1_234_567.0, 0),
        ("a total of 1,234.56", 1234.56, 2),
    ],
)
def test_decimals_and_thousands_separators(text: str, value: float, decimals: int) -> None:
    mention = only(text)
    assert (mention.value, mention.decimals, mention.unit) == (value, decimals, "plain")


def test_commas_that_do_not_group_thousands_separate_numbers() -> None:
    assert values("weights 1,2,3 and 1,23") == [1.0, 2.0, 3.0, 1.0, 23.0]


@pytest.mark.parametrize(
    ("text", "value", "signed", "unit"),
    [
        ("up +1.2 % today", 1.2, True, "percent"),
        ("down -3.4% today", -3.4, True, "percent"),
        ("down \u22123.4% today", -3.4, True, "percent"),
        ("(-5) on the day", -5.0, True, "plain"),
        ("moved 3.4%", 3.4, False, "percent"),
    ],
)
def test_signs_touching_the_number(text: str, value: float, signed: bool, unit: str) -> None:
    mention = only(text)
    assert (mention.value, mention.signed, mention.unit) == (value, signed, unit)


@pytest.mark.parametrize(
    "text", ["a 10-20 range", "between 10%-20%", "from $10-$20", "spread 10\u201320"]
)
def test_a_hyphen_between_numbers_is_a_range(text: str) -> None:
    assert [abs(v) for v in values(text)] == [10.0, 20.0]
    assert all(not mention.signed for mention in extract_numbers(text))


@pytest.mark.parametrize(
    "text",
    ["1.23%", "1.23 %", "1.23 percent", "1.23 per cent", "1.23pp", "1.23 percentage points"],
)
def test_percent_forms_stay_in_percent(text: str) -> None:
    mention = only(f"a change of {text} today")
    assert (mention.value, mention.unit) == (1.23, "percent")


@pytest.mark.parametrize(
    ("text", "currency", "value"),
    [
        ("$187.20", "USD", 187.2),
        ("US$187.20", "USD", 187.2),
        ("187.20 USD", "USD", 187.2),
        ("USD 187.20", "USD", 187.2),
        ("€12.50", "EUR", 12.5),
        ("-$3.40", "USD", -3.4),
        ("$-3.40", "USD", -3.4),
    ],
)
def test_currency_before_or_after(text: str, currency: str, value: float) -> None:
    mention = only(f"priced at {text} now")
    assert (mention.unit, mention.currency, mention.value) == ("currency", currency, value)


@pytest.mark.parametrize(
    ("text", "value", "scale", "decimals"),
    [
        ("1.2B", 1.2e9, 1e9, 1),
        ("1,200M", 1.2e9, 1e6, 0),
        ("3.4bn", 3.4e9, 1e9, 1),
        ("2.5k", 2500.0, 1e3, 1),
        ("2.5K", 2500.0, 1e3, 1),
        ("1.2 billion", 1.2e9, 1e9, 1),
        ("3 million", 3e6, 1e6, 0),
        ("4.1mn", 4.1e6, 1e6, 1),
        ("2T", 2e12, 1e12, 0),
    ],
)
def test_magnitude_suffixes_scale_the_value(
    text: str, value: float, scale: float, decimals: int
) -> None:
    mention = only(f"volume was {text} shares")
    assert mention.value == pytest.approx(value)
    assert (mention.scale, mention.decimals) == (scale, decimals)


def test_a_currency_with_a_magnitude() -> None:
    mention = only("revenue of $1.2B")
    assert (mention.unit, mention.value, mention.scale) == ("currency", 1.2e9, 1e9)


@pytest.mark.parametrize(
    "text",
    [
        "on 2013-12-31",
        "as of 2013-03-01T16:00:00-05:00",
        "as of 2013-03-01 16:00",
        "in 2013-12",
        "on Dec 31 2013",
        "on Dec 31, 2013",
        "on December 31st",
        "on 31 December 2013",
        "on the 31st of Dec",
        "in December 2013",
        "on 31/12/2013",
        "on 12/31/13",
        "on 2013/12/31",
        "on 31.12.2013",
        "in 12/2013",
        "during 2012-2013",
        "in 2013",
        "since 2012",
        "from 2012 to 2013",
        "in Q3 2013",
        "in FY 2013",
    ],
)
def test_dates_are_not_numbers(text: str) -> None:
    assert extract_numbers(f"AAPL rose {text}, it said") == []


@pytest.mark.parametrize("text", ["at 16:00", "at 9:30:15", "at 4 pm", "at 4:30 p.m.", "at 9am"])
def test_times_are_not_numbers(text: str) -> None:
    assert extract_numbers(f"the close {text} was late") == []


def test_a_year_like_number_that_is_no_year_counts() -> None:
    assert values("^GSPC closed at 2013, then 1950 to 2010") == [2013.0, 1950.0, 2010.0]
    assert values("2013 was a good year") == [2013.0]


@pytest.mark.parametrize(
    "text",
    [
        "`sma_20` and `var_95`",
        "^N225 and 0700.HK",
        "periods 1y, 10y, 1wk and 6mo",
        "in Q3",
        "the 1st and 22nd days",
        "the first and third quarters",
        "two documents",
        "see https://example.com/2013/report-42",
        "sources [1], [2, 3] and [4-6]",
    ],
)
def test_names_codes_ordinals_words_addresses_and_citations_are_not_numbers(text: str) -> None:
    assert extract_numbers(text) == []


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("RSI(14) is 61.2", ["61.2"]),
        ("RSI 61.2 and RSI 14", ["61.2"]),
        ("above its SMA 50 (423.10) and SMA 200", ["423.10"]),
        ("the SMA 50/200 cross and MACD(12, 26, 9) at 1.2", ["1.2"]),
        ("its one-day 95% VaR is 1.52%, VaR 95 of 2% and 99 % VaR 3%", ["1.52%", "2%", "3%"]),
        ("EMA 20 of 30.5", ["30.5"]),
    ],
)
def test_indicator_names_with_their_windows_are_labels(text: str, numbers: list[str]) -> None:
    assert texts(text) == numbers


def test_list_markers_at_line_start_are_not_numbers() -> None:
    text = "Steps:\n1. buy 3 shares\n2) sell\n  - 3. hold 1.5 years\n10. done"
    assert texts(text) == ["3", "1.5"]


def test_a_number_at_line_start_that_is_no_marker_counts() -> None:
    assert texts("1.5 is the beta\n42 days") == ["1.5", "42"]


def test_stated_values_also_read_markers_and_years_but_not_dates() -> None:
    text = "1. In 2013 the RSI passed 70 [2] on 2013-03-01 at 16:00"
    assert sorted(set(stated_values(text))) == [1.0, 2.0, 70.0, 2013.0]


# --- grounding -------------------------------------------------------------------------


QUOTE = {
    "symbol": "AAPL",
    "price": 187.2049,
    "change": -3.4,
    "change_percent": -1.78,
    "volume": 1_200_000_000,
    "stale": True,
    "as_of": "2013-03-01T16:00:00-05:00",
}
RISK = {"metrics": [{"symbol": "AAPL", "annualised_volatility": 0.0123, "max_drawdown": -0.4512}]}


def statuses(answer: str, *sources: GroundingSource, question: str = "") -> list[str]:
    return [n.status for n in ground(answer, sources, question=question).numbers]


def quote_source(data: object = QUOTE) -> GroundingSource:
    return GroundingSource("call-1", "quote", data)


@pytest.mark.parametrize("written", ["187.20", "187.2", "187", "$187.20", "187.20 USD"])
def test_a_candidate_grounds_a_mention_rounded_to_its_decimals(written: str) -> None:
    assert statuses(f"AAPL is at {written}.", quote_source()) == ["grounded"]


@pytest.mark.parametrize("written", ["187.21", "187.3", "188", "187.206"])
def test_other_roundings_are_ungrounded(written: str) -> None:
    assert statuses(f"AAPL is at {written}.", quote_source()) == ["ungrounded"]


def test_a_percent_matches_a_fraction_and_a_percent() -> None:
    risk = GroundingSource("call-2", "risk", RISK)
    assert statuses("volatility 1.23% and 1.2%", risk) == ["grounded", "grounded"]
    assert statuses("a drawdown of -45.12%", risk) == ["grounded"]
    assert statuses("a change of -1.78%", quote_source()) == ["grounded"]


def test_a_plain_number_does_not_match_a_fraction_scaled() -> None:
    risk = GroundingSource("call-2", "risk", RISK)
    assert statuses("volatility 1.23", risk) == ["ungrounded"]


@pytest.mark.parametrize("written", ["1.2B", "1,200M", "1.2 billion", "1,200,000,000"])
def test_magnitudes_match_the_scaled_value(written: str) -> None:
    assert statuses(f"volume {written} shares", quote_source()) == ["grounded"]


@pytest.mark.parametrize("written", ["1.3B", "1,201M", "1.2M"])
def test_a_wrong_magnitude_is_ungrounded(written: str) -> None:
    assert statuses(f"volume {written} shares", quote_source()) == ["ungrounded"]


def test_an_unsigned_mention_matches_the_absolute_value_a_signed_one_its_sign() -> None:
    source = quote_source()
    assert statuses("it fell 3.4 and 1.78%", source) == ["grounded", "grounded"]
    assert statuses("it moved -3.4 or \u22121.78%", source) == ["grounded", "grounded"]
    assert statuses("it moved +3.4 or +1.78%", source) == ["ungrounded", "ungrounded"]
    assert statuses("a price of -187.20", source) == ["ungrounded"]


def test_numeric_strings_and_numbers_inside_text_are_candidates() -> None:
    source = GroundingSource(
        "call-3",
        "search_documents",
        {
            "results": [
                {
                    "n": 1,
                    "score": "0.8123",
                    "text": "1. A Sharpe ratio above 1 is good, 2 very good.",
                },
                {"n": 2, "text": "Volatility of 15 to 30 % in 2013; ADV 3.4bn."},
            ]
        },
    )
    answer = "Score 0.81 [1]: above 2 is very good; 15 to 30% [2]; 3.4bn; 3,400M; 2013 at 99."
    report = ground(answer, [source])
    assert [(n.text, n.status) for n in report.numbers] == [
        ("0.81", "grounded"),
        ("2", "grounded"),
        ("15", "grounded"),
        ("30%", "grounded"),
        ("3.4bn", "grounded"),
        ("3,400M", "grounded"),
        ("2013", "grounded"),
        ("99", "ungrounded"),
    ]


def test_booleans_and_keys_are_not_candidates() -> None:
    source = GroundingSource("call-4", "indicators", {"stale": True, "sma_20": None, "7": "x"})
    assert statuses("1 flag, 20 days, 7 keys", source) == ["ungrounded"] * 3


def test_small_counts_need_a_source_like_any_number() -> None:
    sources = [GroundingSource("call-5", "search_documents", {"results": [{"n": 1}]})]
    report = ground("I found 2 documents and 1 passage.", sources)
    assert report.ungrounded_texts == ["2"]
    assert report.grounded == 1


def test_numbers_of_the_question_are_from_question_when_no_source_has_them() -> None:
    question = "How did the S&P 500 do over the last 30 days? Is 187 a good price?"
    report = ground(
        "Over 30 days the S&P 500 moved; 187 is near 187.20; 45 is new.",
        [quote_source()],
        question=question,
    )
    assert [(n.text, n.status) for n in report.numbers] == [
        ("30", "from_question"),
        ("500", "from_question"),
        ("187", "grounded"),
        ("187.20", "grounded"),
        ("45", "ungrounded"),
    ]
    assert (report.grounded, report.ungrounded, report.from_question) == (2, 1, 2)
    assert report.ungrounded_texts == ["45"]


def test_a_grounded_number_names_the_first_call_that_holds_it() -> None:
    first = GroundingSource("call-a", "quote", {"price": 10.5})
    second = GroundingSource("call-b", "history", {"summary": {"last_close": 10.5, "high": 12}})
    report = ground("It closed at 10.50, its high 12.", [first, second])
    assert report.numbers == [
        GroundedNumber("10.50", 10.5, "grounded", "call-a", "quote"),
        GroundedNumber("12", 12.0, "grounded", "call-b", "history"),
    ]


def test_an_answer_without_numbers_and_one_without_sources() -> None:
    assert ground("Nothing to report.", [quote_source()]).numbers == []
    report = ground("AAPL is at 187.20 on 2013-03-01.", [])
    assert (report.grounded, report.ungrounded, report.ungrounded_texts) == (0, 1, ["187.20"])


def test_dates_in_the_answer_need_no_source() -> None:
    report = ground("As of 2013-03-01 (Mar 1, 2013) at 16:00 AAPL was 187.20.", [quote_source()])
    assert [n.text for n in report.numbers] == ["187.20"]


def test_candidate_index_collects_every_numeric_leaf_once() -> None:
    index = CandidateIndex.of({"a": [1, 2.5, {"b": "2.5"}], "c": ("3", None, False), "d": "x"})
    assert len(index) == 3
