"""Benchmark a callback request's steps in process (Flask's test client, signed as Twilio signs, the
shipped menus.yaml, a fresh SQLite file): the offer after a busy transfer, key 3, the number kept
(the request written), the message's Record action and its recording status callback; then the
console's queue with many open requests, a request's page, and checking a second-factor code."""

from __future__ import annotations

import argparse
import logging
import secrets
import statistics
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

from cryptography.fernet import Fernet
from twilio.request_validator import RequestValidator

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from ivr import create_app  # noqa: E402
from ivr.console import two_factor  # noqa: E402
from ivr.storage.callbacks import Callbacks  # noqa: E402

TOKEN = secrets.token_hex(16)
ACCOUNT = "AC" + "0" * 32


def _fake_twilio():
    """The tests' fake Twilio REST API (tests/fake_twilio.py): the confirmation texts go there."""
    sys.path.insert(0, str(REPO / "tests"))
    from fake_twilio import FakeTwilio

    return FakeTwilio(ACCOUNT, TOKEN)


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class Caller:
    """One call through the webhooks, each request signed; times every step it is asked to."""

    def __init__(self, client, number: str):
        self.client = client
        self.params = {"CallSid": _sid("CA"), "AccountSid": ACCOUNT, "From": number, "To": "+15025550100",
                       "Caller": number, "Called": "+15025550100", "CallStatus": "in-progress",
                       "Direction": "inbound", "ApiVersion": "2010-04-01",
                       "StirVerstat": "TN-Validation-Passed-A"}
        self.doc: ET.Element | None = None

    def post(self, path: str, **extra: str) -> float:
        params = {**self.params, **extra}
        signature = RequestValidator(TOKEN).compute_signature("http://localhost" + path, params)
        started = time.perf_counter()
        response = self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        took = time.perf_counter() - started
        if response.status_code not in (200, 204):
            raise SystemExit(f"{path} answered {response.status_code}: {response.data[:200]!r}")
        self.doc = ET.fromstring(response.data) if response.status_code == 200 else self.doc
        return took

    def action(self, tag: str, attribute: str = "action") -> str:
        element = self.doc.find(tag) if self.doc is not None else None
        if element is None:
            raise SystemExit(f"no <{tag}> where the benchmark expected one")
        return element.get(attribute)


def one_call(client, number: str, times: dict[str, list[float]]) -> None:
    call = Caller(client, number)
    call.post("/voice")
    call.post(call.action("Gather"), Digits="0")
    times["busy: key 3 offered"].append(call.post(call.action("Dial"), DialCallStatus="busy",
                                                  DialCallSid=_sid("CA"), DialCallDuration="0"))
    times["key 3: own number offered"].append(call.post(call.action("Gather"), Digits="3"))
    times["key 1: request written"].append(call.post(call.action("Gather"), Digits="1"))
    recording = _sid("RE")
    status_path = call.action("Record", "recordingStatusCallback")
    times["Record action: what next"].append(call.post(
        call.action("Record"), RecordingSid=recording, Digits="#", RecordingDuration="7",
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording}"))
    times["recording callback: attached"].append(call.post(
        status_path, RecordingSid=recording, RecordingStatus="completed", RecordingDuration="7",
        RecordingUrl=f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording}"))


def ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(values) * 1000:7.2f} ms   p95 {p95 * 1000:7.2f} ms   (n={len(values)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200, help="whole calls asking for a callback (200)")
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # one line a request would measure the terminal
    work = Path(tempfile.mkdtemp(prefix="ivr-bench-callbacks-"))
    key = Fernet.generate_key().decode()
    with _fake_twilio() as fake:
        return _run(args, work, key, fake)


def _run(args: argparse.Namespace, work: Path, key: str, fake) -> int:
    app = create_app({"TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT,
                      "TWILIO_API_BASE_URL": fake.base_url, "IVR_SECRET_KEY": secrets.token_urlsafe(48),
                      "IVR_MENUS_FILE": str(REPO / "menus.yaml"), "IVR_DATABASE": str(work / "ivr.sqlite3"),
                      "IVR_CALLBACK_KEYS": key, "IVR_CALLBACKS_PER_HOUR": "10000",
                      "IVR_CALLBACKS_PER_DAY": "10000", "IVR_LINE_TEXTS_PER_HOUR": "100000",
                      "IVR_LINE_TEXTS_PER_DAY": "1000000", "IVR_CONSOLE": "1"})
    client = app.test_client()
    times: dict[str, list[float]] = {name: [] for name in (
        "busy: key 3 offered", "key 3: own number offered", "key 1: request written",
        "Record action: what next", "recording callback: attached")}
    for n in range(5):  # warm up: the first request loads the menu and opens the database
        one_call(client, f"+1502559{n:04d}", {name: [] for name in times})
    for n in range(args.calls):
        one_call(client, f"+1502555{n:04d}", times)
    texts = sum(1 for r in fake.requests if r.method == "POST")
    print(f"A callback request by phone, {args.calls} calls, each number its own request (SQLite; "
          f"{texts} confirmation texts to a local fake Twilio):")
    for name, values in times.items():
        print(f"  {name:32} {ms(values)}")

    store = app.extensions["ivr"].store
    callbacks = Callbacks.for_store(store, [key])
    started = time.perf_counter()
    listed = callbacks.list_open(limit=500)
    took = (time.perf_counter() - started) * 1000
    print(f"  list of {len(listed)} open requests from storage: {took:.2f} ms")

    secret = two_factor.new_secret()
    code = two_factor.code_at(secret, two_factor.current_step(time.time()))
    checks = []
    for _ in range(2000):
        started = time.perf_counter()
        two_factor.matching_step(secret, code, time.time())
        checks.append(time.perf_counter() - started)
    print(f"  second-factor code checked (3 steps tried at most): median "
          f"{statistics.median(checks) * 1e6:.1f} µs")
    svg = two_factor.qr_svg(two_factor.provisioning_uri(secret, "a.scheduler"), "QR code")
    print(f"  enrolment QR code: {len(svg.encode()) / 1024:.1f} KB of inline SVG")
    return 0


if __name__ == "__main__":
    sys.exit(main())
