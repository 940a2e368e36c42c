from __future__ import annotations

import json
import logging
import sys

from marketscope_servicekit.logging import JsonFormatter, configure_logging


def record(name: str = "marketscope.test", **kwargs) -> logging.LogRecord:
    return logging.makeLogRecord({"name": name, "levelname": "INFO", "levelno": 20, **kwargs})


def test_a_record_is_one_json_line_with_the_standard_fields():
    line = JsonFormatter("chat").format(record(msg="hello %s", args=("world",)))
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["service"] == "chat"
    assert entry["logger"] == "marketscope.test"
    assert entry["time"].endswith("+00:00")


def test_extra_fields_are_kept_and_uvicorn_colours_dropped():
    line = JsonFormatter("chat").format(
        record(msg="x", symbol="AAPL", attempt=2, color_message="\x1b[1mx\x1b[0m")
    )
    entry = json.loads(line)
    assert entry["symbol"] == "AAPL"
    assert entry["attempt"] == 2
    assert "color_message" not in entry
    assert "args" not in entry


def test_a_traceback_stays_inside_its_line():
    try:
        raise ValueError("bad")
    except ValueError:
        exc_info = sys.exc_info()
    line = JsonFormatter("chat").format(record(msg="failed", exc_info=exc_info))
    assert "\n" not in line
    assert "ValueError: bad" in json.loads(line)["exc_info"]


def test_uvicorn_access_lines_become_fields():
    access = record(
        "uvicorn.access",
        msg='%s - "%s %s HTTP/%s" %d',
        args=("127.0.0.1:5000", "GET", "/healthz", "1.1", 200),
    )
    entry = json.loads(JsonFormatter("rag").format(access))
    assert entry["method"] == "GET"
    assert entry["path"] == "/healthz"
    assert entry["status"] == 200


def test_configure_logging_routes_uvicorn_to_stdout_once(capsys):
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.StreamHandler(sys.stderr))
    uvicorn_error.propagate = False
    uvicorn_error.setLevel(logging.WARNING)  # as a uvicorn server run before leaves it
    configure_logging("notifier", "debug")
    configure_logging("notifier", "info")  # again: still one line per record
    uvicorn_error.info("Application startup complete.")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["logger"] == "uvicorn.error"
    assert entry["service"] == "notifier"
    assert logging.getLogger().level == logging.INFO


def test_the_http_clients_request_lines_are_off_unless_debugging() -> None:
    httpx_logger = logging.getLogger("httpx")
    try:
        configure_logging("demo", "INFO")
        assert not httpx_logger.isEnabledFor(logging.INFO)
        assert httpx_logger.isEnabledFor(logging.WARNING)
        configure_logging("demo", "DEBUG")
        assert httpx_logger.isEnabledFor(logging.INFO)
    finally:
        configure_logging("demo", "INFO")


def test_a_line_names_its_trace_and_request() -> None:
    from opentelemetry.sdk.trace import TracerProvider

    with TracerProvider().get_tracer("test").start_as_current_span("work") as span:
        line = json.loads(JsonFormatter("demo").format(logging.makeLogRecord({"msg": "x"})))
    assert line["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert line["request_id"] is None  # outside any request
    outside = json.loads(JsonFormatter("demo").format(logging.makeLogRecord({"msg": "y"})))
    assert outside["trace_id"] is None


def _restore_access_logger() -> None:
    access = logging.getLogger("uvicorn.access")
    access.handlers.clear()
    access.propagate = True


def test_an_access_log_uvicorn_turned_off_stays_off() -> None:
    """uvicorn applies ``access_log=False`` before it imports the app, whose logging
    set-up then runs: a request line would be logged (and shipped) for every request."""
    import uvicorn

    try:
        uvicorn.Config("marketscope.app:app", access_log=False, log_config=None)
        configure_logging("demo", "INFO")
        assert not logging.getLogger("uvicorn.access").hasHandlers()
        assert logging.getLogger("uvicorn.error").hasHandlers()  # the rest still logs
    finally:
        _restore_access_logger()
        configure_logging("demo", "INFO")


def test_an_app_made_before_the_server_still_logs_no_request_lines() -> None:
    import uvicorn

    try:
        configure_logging("demo", "INFO")
        uvicorn.Config("marketscope.app:app", access_log=False, log_config=None)
        assert not logging.getLogger("uvicorn.access").hasHandlers()
    finally:
        _restore_access_logger()
        configure_logging("demo", "INFO")


def test_an_access_log_left_on_goes_through_the_json_handler(capsys) -> None:
    import uvicorn

    try:
        uvicorn.Config("marketscope.app:app", access_log=True)  # uvicorn's text handler
        configure_logging("demo", "INFO")
        logging.getLogger("uvicorn.access").info(
            '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/x", "1.1", 200
        )
        entry = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert (entry["logger"], entry["path"]) == ("uvicorn.access", "/x")
    finally:
        _restore_access_logger()
        configure_logging("demo", "INFO")
