"""Drive wrk (https://github.com/wg/wrk, Debian package ``wrk``) and read its report."""

import re
import shutil
import subprocess
from dataclasses import dataclass

MAX_DURATION = 10  # seconds per measured run; the harness never loads longer

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def wrk_path() -> str | None:
    return shutil.which("wrk")


@dataclass
class Result:
    requests_per_second: float
    requests: int
    p50_ms: float | None
    p99_ms: float | None
    errors: int  # non-2xx/3xx responses plus socket errors
    raw: str


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()
    return float(number) * _UNITS[unit]


def parse(output: str) -> Result:
    """Figures from wrk's text report (run with ``--latency``)."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", output, re.M)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if not rps or not total:
        raise ValueError(f"cannot read the wrk report:\n{output}")
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return Result(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        p50_ms=_ms(p50.group(1)) if p50 else None,
        p99_ms=_ms(p99.group(1)) if p99 else None,
        errors=errors,
        raw=output,
    )


def run(
    url: str,
    *,
    duration: int,
    threads: int,
    connections: int,
    headers: list[str] = (),
) -> Result:
    """One wrk run against ``url`` (loopback only) for at most MAX_DURATION seconds."""
    if not url.startswith(("http://127.0.0.1:", "http://localhost:")):
        raise ValueError("the bench only loads the loopback interface")
    duration = max(1, min(duration, MAX_DURATION))
    command = [
        wrk_path() or "wrk",
        f"--threads={threads}",
        f"--connections={max(connections, threads)}",
        f"--duration={duration}s",
        "--timeout=5s",
        "--latency",
    ]
    for header in headers:
        command += ["--header", header]
    command.append(url)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 30, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)
