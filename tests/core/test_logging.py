"""No whole ID number in a log line: the mask filter, Django's LOGGING, gunicorn's access log."""

from __future__ import annotations

import copy
import io
import logging
import logging.config
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.conf import settings

from core.logging import MASK, MaskIdNumbers, mask_id_numbers
from tests.factories import make_id_number

ID = make_id_number(7)
ID_X = next(make_id_number(n) for n in range(1, 500) if make_id_number(n).endswith("X"))


def _record(msg, args=None, exc_info=None):
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)


def test_a_whole_id_number_is_masked_in_a_plain_message():
    record = _record(f"GET /admin/residents/resident/?q={ID} HTTP/1.1")
    assert MaskIdNumbers().filter(record) is True
    assert ID not in record.getMessage()
    assert MASK in record.getMessage()


def test_arguments_are_masked_tuple_and_mapping():
    record = _record("search %s by %s", (ID, "cadre"))
    MaskIdNumbers().filter(record)
    assert record.getMessage() == f"search {MASK} by cadre"
    # gunicorn's access log passes a mapping of atoms
    record = _record('%(h)s "%(r)s"', ({"h": "10.0.0.1", "r": f"GET /?search={ID}"},))
    MaskIdNumbers().filter(record)
    assert record.getMessage() == f'10.0.0.1 "GET /?search={MASK}"'


def test_lower_case_x_and_an_x_check_character_are_masked():
    assert mask_id_numbers(f"q={ID_X}") == f"q={MASK}"
    assert mask_id_numbers(f"q={ID_X.lower()}") == f"q={MASK}"


def test_numbers_that_are_not_id_numbers_are_kept():
    wrong_check = ID[:17] + ("0" if ID[17] != "0" else "1")
    longer = "9" + ID  # 19 digits: not an 18-character run
    text = f"a={wrong_check} b={longer} c=13812345678 d=1234"
    assert mask_id_numbers(text) == text
    record = _record("n=%d", (5,))
    MaskIdNumbers().filter(record)
    assert record.getMessage() == "n=5" and record.args == (5,)


def test_a_traceback_is_masked():
    try:
        raise ValueError(f"no resident {ID}")
    except ValueError:
        record = _record("boom", exc_info=sys.exc_info())
    MaskIdNumbers().filter(record)
    assert ID not in record.exc_text
    assert MASK in record.exc_text


def test_every_handler_and_the_django_and_gunicorn_loggers_are_filtered(
    production_settings_module,
):
    from config.settings import base

    for config in (base.LOGGING, production_settings_module.LOGGING):
        mask = [n for n, f in config["filters"].items() if f["()"].endswith("MaskIdNumbers")]
        assert mask
        for name, handler in config["handlers"].items():
            assert set(mask) & set(handler.get("filters", [])), name
        loggers = config["loggers"]
        for name in ("django", "django.server", "gunicorn.access", "gunicorn.error"):
            assert name in loggers, name
        assert loggers["django"]["handlers"] == [] and loggers["django"]["propagate"]


@pytest.fixture
def base_logging_to_buffer():
    """Django's real LOGGING (config.settings.base), writing into a buffer."""
    from config.settings import base

    buffer = io.StringIO()
    config = copy.deepcopy(base.LOGGING)
    config["handlers"]["console"]["stream"] = buffer
    names = ["", *config["loggers"]]
    saved = {
        n: (lg.handlers[:], lg.level, lg.propagate)
        for n in names
        for lg in [logging.getLogger(n or None)]
    }
    logging.config.dictConfig(config)
    yield buffer
    for n, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(n or None)
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


def test_a_request_through_django_logs_no_id_number(client, base_logging_to_buffer, db):
    response = client.get(f"/no-such-page/{ID}/")
    assert response.status_code == 404
    logged = base_logging_to_buffer.getvalue()
    assert "Not Found" in logged
    assert MASK in logged
    assert ID not in logged


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_access_log_goes_through_the_mask(tmp_path):
    port = _free_port()
    out, err = tmp_path / "out.log", tmp_path / "err.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(  # noqa: S603 - our gunicorn, our arguments
            [
                gunicorn,
                "--config",
                str(settings.BASE_DIR / "config" / "gunicorn.py"),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "config.wsgi:application",
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/no-such-page/?q={ID}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(url, timeout=5)  # noqa: S310 - loopback
                except urllib.error.HTTPError:
                    break  # an answer (404 or 400): the request was logged
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise
                    time.sleep(0.2)
                else:
                    break
            time.sleep(0.5)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    logged = out.read_text() + err.read_text()
    assert "/no-such-page/?q=" in logged, logged
    assert MASK in logged
    assert ID not in logged
