"""Content sniffing and text extraction: the declared type is checked against the bytes."""

from __future__ import annotations

import json
import time

import pytest

from marketscope_rag.errors import ExtractionError, InvalidDocumentError, UnsupportedDocumentError
from marketscope_rag.indexing.extraction import extract_text, sniff

from .pdfs import corrupt_pdf, pdf_with_text

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.mark.parametrize(
    ("data", "declared", "filename", "kind"),
    [
        (b"# Title\n\nSome text.", "text/markdown", "notes.md", "markdown"),
        (b"plain words", "text/plain", "notes.txt", "text"),
        (b"<html><body><p>hi</p></body></html>", "text/html", "page.html", "html"),
        (b'{"a": 1}', "application/json", "data.json", "json"),
        (b"# Title", "application/octet-stream", "notes.md", "markdown"),
        (b"<!DOCTYPE html><html></html>", None, "page", "html"),
        (pdf_with_text(["hello"]), "application/pdf", "report.pdf", "pdf"),
        (pdf_with_text(["hello"]), "application/octet-stream", "report.bin", "pdf"),
    ],
)
def test_sniff_accepts_what_the_bytes_support(data, declared, filename, kind) -> None:
    assert sniff(data, declared, filename).kind == kind


@pytest.mark.parametrize(
    ("data", "declared", "detected"),
    [
        (PNG, "image/png", None),  # a type the service does not take
        (PNG, "text/plain", "image/png"),  # lying: an image sent as text
        (pdf_with_text(["x"]), "text/markdown", "application/pdf"),  # lying: PDF as Markdown
        (b"just text", "application/pdf", "text"),  # lying: text as PDF
        (b"not json {", "application/json", "text/plain"),  # lying: text as JSON
        (b"\xff\xfe\x00binary", "text/plain", "application/octet-stream"),  # not UTF-8
    ],
)
def test_sniff_refuses_unsupported_or_lying_types(data, declared, detected) -> None:
    with pytest.raises(UnsupportedDocumentError) as raised:
        sniff(data, declared, "file")
    assert raised.value.status == 415
    assert raised.value.extensions["detected"] == detected


def test_empty_document_is_invalid() -> None:
    with pytest.raises(InvalidDocumentError):
        sniff(b"", "text/plain", "empty.txt")


def test_pdf_text_is_extracted() -> None:
    data = pdf_with_text(["Interest coverage is EBIT over interest.", "Second line."])
    text = extract_text(data, "application/pdf")
    assert "Interest coverage is EBIT over interest." in text
    assert "Second line." in text


@pytest.mark.parametrize("data", [corrupt_pdf(), pdf_with_text(["cut short"])[:150]])
def test_corrupt_pdf_raises_extraction_error(data) -> None:
    with pytest.raises(ExtractionError, match="unreadable PDF"):
        extract_text(data, "application/pdf")


def test_html_becomes_text_with_markdown_headings() -> None:
    markup = (
        "<html><head><style>p{}</style><script>var x=1</script></head><body>"
        "<h2>Beta</h2><p>Beta measures market sensitivity.</p><ul><li>one</li><li>two</li></ul>"
        "</body></html>"
    )
    text = extract_text(markup.encode(), "text/html")
    assert "## Beta" in text
    assert "Beta measures market sensitivity." in text
    assert "var x" not in text
    assert "p{}" not in text


def test_json_is_flattened_into_path_value_lines() -> None:
    document = {"company": {"name": "ACME", "ratios": [{"pe": 21.5}]}}
    text = extract_text(json.dumps(document).encode(), "application/json")
    assert text.splitlines() == ["company.name: ACME", "company.ratios[0].pe: 21.5"]


def test_text_without_content_is_an_extraction_error() -> None:
    with pytest.raises(ExtractionError):
        extract_text(b"   \n\n ", "text/plain")


def test_json_nested_too_deep_is_refused_at_upload_and_fails_extraction() -> None:
    deep = b'{"a": ' * 1200 + b"1" + b"}" * 1200
    with pytest.raises(InvalidDocumentError, match="deeper than 64"):
        sniff(deep, "application/json", "deep.json")
    with pytest.raises(InvalidDocumentError):
        sniff(deep, None, "deep")  # looks like JSON: refused, not taken for text
    with pytest.raises(ExtractionError, match="invalid JSON"):
        extract_text(deep, "application/json")
    # Text with many brackets is not JSON, however deep they go.
    assert sniff(b"See [1] " + b"[" * 1200, None, "notes").kind == "text"


def test_deeply_nested_html_is_extracted_in_linear_time() -> None:
    depth = 30_000  # quadratic walks took minutes at this depth; linear takes a moment
    markup = b"<html><body>" + b"<div>" * depth + b"deep text" + b"</div>" * depth + b"</body>"
    started = time.perf_counter()
    assert extract_text(markup, "text/html") == "deep text"
    assert time.perf_counter() - started < 10
