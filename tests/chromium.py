"""Headless Chromium for the HTML report tests: open a page, collect every console message, script exception,
rendering error and network request over the DevTools protocol, measure the layout, and take a full-page
screenshot. A tiny WebSocket client (RFC 6455, text frames) is all the protocol needs, so no browser-automation
package is required; only the `chromium` binary (Debian's package; `.ci/run` installs it when absent).

    python -m tests.chromium PAGE.html [SHOT.png]    prints what the page logged and its layout, saves the shot
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]
WIDTH = 1280

#: Measured in the page after load: horizontal overflow, SVG labels cut off by their chart's edge or overlapping
#: another label of the same chart, charts drawn (nearly) empty.
LAYOUT_JS = """(() => {
  const doc = document.documentElement;
  const svgs = [...document.querySelectorAll('svg')];
  const clipped = [], overlaps = [];
  for (const svg of svgs) {
    const sb = svg.getBoundingClientRect(), name = svg.getAttribute('aria-label') || '?';
    const boxes = [];
    for (const t of svg.querySelectorAll('text')) {
      const r = t.getBoundingClientRect();
      if (r.left < sb.left - 1 || r.right > sb.right + 1 || r.top < sb.top - 1 || r.bottom > sb.bottom + 1)
        clipped.push(name + ': ' + t.textContent);
      if (!t.hasAttribute('transform')) boxes.push([r, t.textContent]);
    }
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
      const [a, ta] = boxes[i], [b, tb] = boxes[j];
      const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
      const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
      if (w > 2 && h > 2 && w * h > 0.3 * Math.min(a.width * a.height, b.width * b.height))
        overlaps.push(name + ': ' + ta + ' / ' + tb);
    }
  }
  const empty = svgs.filter(s => s.getBoundingClientRect().width < 50 || s.getBoundingClientRect().height < 30)
                    .map(s => s.getAttribute('aria-label'));
  const wide = [...document.querySelectorAll('main *')]
                    .filter(el => el.getBoundingClientRect().right > doc.clientWidth + 1)
                    .map(el => el.tagName.toLowerCase());
  return JSON.stringify({title: document.title, width: doc.scrollWidth, viewport: doc.clientWidth,
    height: doc.scrollHeight, svgs: svgs.length, clipped, overlaps, empty, wide: wide.slice(0, 10),
    scripts: document.scripts.length, h2: [...document.querySelectorAll('h2')].map(h => h.textContent)});
})()"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


class WebSocket:
    """Client side of RFC 6455 over a plain TCP socket: masked text frames out, any frames in."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        rest = url.removeprefix("ws://")
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /{path} HTTP/1.1\r\nHost: {hostport}\r\nUpgrade: websocket\r\nConnection: Upgrade"
                           f"\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:200]!r}")

    def _exact(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return bytes(data)

    def send(self, text: str) -> None:
        payload = text.encode()
        n = len(payload)
        header = bytes([0x81])
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack(">Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def recv(self) -> str:
        message = bytearray()
        while True:
            first, second = self._exact(2)
            n = second & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._exact(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._exact(8))[0]
            payload = self._exact(n)
            opcode = first & 0x0F
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x0, 0x1, 0x2):
                message += payload
                if first & 0x80:
                    return message.decode()

    def close(self) -> None:
        self.sock.close()


@dataclass
class PageResult:
    problems: list[str] = field(default_factory=list)
    """Console errors and warnings, uncaught exceptions, rendering errors (e.g. an invalid SVG attribute)."""
    requests: list[str] = field(default_factory=list)
    """URLs the page asked for besides itself (a self-contained page asks for none)."""
    layout: dict[str, Any] = field(default_factory=dict)


class Chromium:
    """One headless browser (fresh profile) for several pages."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="mlcicd-chromium-")
        self.proc = subprocess.Popen([binary, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not start its DevTools endpoint within 30 s")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.ws = WebSocket(f"ws://127.0.0.1:{port}{path}")
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, session: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(ev.get("method") == method and ev.get("sessionId") == session for ev in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout:g} s")
            self.events.append(json.loads(self.ws.recv()))

    def open(self, page: Path, screenshot: Path | None = None) -> PageResult:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable", session=session)
        self.call("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": 900, "deviceScaleFactor": 1,
                                                         "mobile": False}, session)
        self.events.clear()
        url = page.resolve().as_uri()
        self.call("Page.navigate", {"url": url}, session)
        self.wait_for("Page.loadEventFired", session)
        result = PageResult()
        value = self.call("Runtime.evaluate", {"expression": LAYOUT_JS, "returnByValue": True}, session)
        result.layout = json.loads(value["result"]["value"])
        for ev in (ev for ev in self.events if ev.get("sessionId") == session):
            params = ev.get("params", {})
            if ev["method"] == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                result.problems.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                                              for a in params.get("args", [])))
            elif ev["method"] == "Runtime.exceptionThrown":
                result.problems.append("exception: " + json.dumps(params.get("exceptionDetails", {}))[:300])
            elif ev["method"] == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
                result.problems.append(f"log ({params['entry'].get('source')}): {params['entry'].get('text')}")
            elif ev["method"] == "Network.requestWillBeSent" and params["request"]["url"] != url:
                result.requests.append(params["request"]["url"])
        if screenshot is not None:
            height = int(result.layout["height"])
            self.call("Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": height,
                                                             "deviceScaleFactor": 1, "mobile": False}, session)
            shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            screenshot.write_bytes(base64.b64decode(shot["data"]))
        self.call("Target.closeTarget", {"targetId": target})
        return result

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def main(argv: list[str]) -> int:
    binary = find_chromium()
    if binary is None:
        print("chromium not found (apt-get install chromium)", file=sys.stderr)
        return 2
    browser = Chromium(binary)
    try:
        result = browser.open(Path(argv[0]), Path(argv[1]) if len(argv) > 1 else None)
    finally:
        browser.close()
    print(json.dumps({"problems": result.problems, "requests": result.requests, "layout": result.layout}, indent=2))
    return 1 if result.problems or result.requests else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
