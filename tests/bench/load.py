"""Drive an HTTP server with wrk for a bounded time and read its figures."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Figures:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True)
    return shutil.which("wrk") or "wrk"


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * UNITS[unit]


def run_wrk(url: str, lua: str, *, seconds: int, connections: int, threads: int = 2) -> Figures:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        output = subprocess.run(
            [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name, url],
            check=True, capture_output=True, text=True, timeout=seconds + 60,
        ).stdout  # fmt: skip
    finally:
        Path(script.name).unlink()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = _milliseconds(re.search(r"\s50%\s+([\d.]+\w+)", output).group(1))
    p99 = _milliseconds(re.search(r"\s99%\s+([\d.]+\w+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Figures(rps, p50, p99, requests, errors)


def lua_rotating(method: str, path_and_headers: list[tuple[str, dict[str, str]]], body_template: str | None = None) -> str:
    """A wrk script that spreads requests over many signed-in devices.

    Bodies may contain {uuid}, replaced per request with a fresh random UUID.
    """
    entries = []
    for path, headers in path_and_headers:
        header_table = ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items())
        entries.append(f'{{path = "{path}", headers = {{{header_table}}}}}')
    body = "nil"
    if body_template is not None:
        body = '"' + body_template.replace('"', '\\"') + '"'
    return f"""
local targets = {{{", ".join(entries)}}}
local counter = 0
local function uuid()
  local function hex(n) local s = "" for i = 1, n do s = s .. string.format("%x", math.random(0, 15)) end return s end
  return hex(8) .. "-" .. hex(4) .. "-4" .. hex(3) .. "-" .. string.format("%x", math.random(8, 11)) .. hex(3) .. "-" .. hex(12)
end
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed(os.time() * 1000 + (id or 0))
end
request = function()
  local target = targets[math.random(#targets)]
  local body = {body}
  if body then
    body = string.gsub(body, "{{uuid}}", uuid())
    body = string.gsub(body, "{{assignment}}", target.headers["X-Assignment"] or "0")
  end
  return wrk.format("{method}", target.path, target.headers, body)
end
"""
