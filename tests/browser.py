"""A headless Chromium driven over the DevTools protocol (CDP), for the report tests.

A tiny client over ``websockets``' synchronous API: start ``chromium --headless`` with a
throw-away profile and ``--remote-debugging-port=0``, read the browser's websocket address from
its stderr, open one page (a flattened target session) and send commands, keeping every event
(console messages, exceptions, log entries, network requests) for the test to inspect.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--remote-debugging-port=0", "--hide-scrollbars"]
START_TIMEOUT = 60.0
CALL_TIMEOUT = 60.0


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One browser tab; ``events`` holds every event received so far."""

    def __init__(self, ws: Any, session: str) -> None:
        self.ws, self.session = ws, session
        self.ids = itertools.count(1000)
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        return _call(self.ws, self.ids, self.events, method, params, self.session)

    def wait_for(self, method: str, timeout: float = CALL_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events if e.get("method") == method]
            if found:
                return found[0]
            self.events.append(json.loads(self.ws.recv(timeout=deadline - time.monotonic())))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def screenshot(self, clip: dict[str, float] | None = None) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": True}
        if clip is not None:
            params["clip"] = {**clip, "scale": 1}
        return base64.b64decode(self.call("Page.captureScreenshot", **params)["data"])

    def pdf(self) -> bytes:
        return base64.b64decode(self.call("Page.printToPDF", printBackground=True)["data"])

    def errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries."""
        out = []
        for e in self.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args")))
            elif m == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out

    def requests(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e.get("method") == "Network.requestWillBeSent"]


def _call(ws: Any, ids: Iterator[int], events: list[dict[str, Any]], method: str,
          params: dict[str, Any], session: str | None = None) -> dict[str, Any]:
    number = next(ids)
    message: dict[str, Any] = {"id": number, "method": method, "params": params}
    if session is not None:
        message["sessionId"] = session
    ws.send(json.dumps(message))
    deadline = time.monotonic() + CALL_TIMEOUT
    while True:
        reply = json.loads(ws.recv(timeout=deadline - time.monotonic()))
        if reply.get("id") == number:
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error']}")
            result: dict[str, Any] = reply.get("result", {})
            return result
        events.append(reply)


def _address(proc: subprocess.Popen[str]) -> str:
    assert proc.stderr is not None
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:
            return found.group(1)
    raise RuntimeError("chromium did not print its DevTools address")


@contextmanager
def open_page(path: Path, width: int = 1280, height: int = 900) -> Iterator[Page]:
    """``path`` loaded in a fresh headless Chromium, console and network recorded from the
    start; the browser and its profile are removed afterwards."""
    from websockets.sync.client import connect

    binary = chromium()
    assert binary is not None
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={profile}",
                                 f"--window-size={width},{height}", "about:blank"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            with connect(_address(proc), max_size=None, open_timeout=START_TIMEOUT) as ws:
                ids, events = itertools.count(1), []  # type: ignore[var-annotated]
                target = _call(ws, ids, events, "Target.createTarget", {"url": "about:blank"})
                session = _call(ws, ids, events, "Target.attachToTarget",
                                {"targetId": target["targetId"], "flatten": True})["sessionId"]
                page = Page(ws, session)
                for domain in ("Page", "Runtime", "Log", "Network"):
                    page.call(f"{domain}.enable")
                page.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                          deviceScaleFactor=1, mobile=False)
                page.call("Page.navigate", url=path.resolve().as_uri())
                page.wait_for("Page.loadEventFired")
                yield page
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
