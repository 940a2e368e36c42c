import json

import pytest

from marketscope_servicekit.json_limits import (
    MAX_JSON_DEPTH,
    JsonTooDeep,
    json_depth,
    loads_untrusted,
)


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_the_standard_parser_overflows_on_the_documents_the_limit_refuses() -> None:
    with pytest.raises(RecursionError):
        json.loads(nested(100_000))


def test_a_document_nested_past_the_limit_is_refused_before_parsing() -> None:
    with pytest.raises(JsonTooDeep) as refused:
        loads_untrusted(nested(1_200))
    assert refused.value.limit == MAX_JSON_DEPTH
    assert isinstance(refused.value, ValueError)


def test_a_document_at_the_limit_parses() -> None:
    assert loads_untrusted(nested(MAX_JSON_DEPTH)) is not None


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"note": "[[[[{{{{" * 100, "escaped": 'a\\"[[[['})
    assert json_depth(text) == 1
    assert loads_untrusted(text)["note"].startswith("[[[[")


def test_objects_and_arrays_count_alike() -> None:
    assert json_depth(b'{"a": [{"b": [1]}]}') == 4


def test_malformed_json_still_raises_the_parsers_error() -> None:
    with pytest.raises(json.JSONDecodeError):
        loads_untrusted(b'{"a": ')
