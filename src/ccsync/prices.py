"""The price table a user's installation uses, and refreshing it (``ccsync prices update``).

The table is ``prices.json`` in the data directory (``CCSYNC_DATA_DIR``, else the user
data directory) when it is there, readable, and not older than the one that ships with
the package (an upgrade of ccsync brings a newer one); otherwise the packaged one. A
table that cannot be read is never fatal: the packaged one is used, with a warning. An update builds a table from LiteLLM's published list with
``usage.price_source`` (ccusage 20.0.24's prices kept) and writes it there atomically.

Only what choosing the table needs is imported at the top: reports pay for nothing else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
import platformdirs

from ccsync.private import private_dir
from ccsync.usage.price_source import build_table, is_claude, litellm_price, pinned_from_table
from ccsync.usage.pricing import PriceList, PriceTable, PriceTableError, default_prices

LITELLM_URL = (
    "https://raw.githubusercontent.com/BerriAI/litellm/main/model_prices_and_context_window.json"
)
"""LiteLLM's published list, the default source of an update."""
WHEEL_JSON = "model_prices_and_context_window_backup.json"
"""The list's name inside the ``litellm`` wheel."""
FILE_NAME = "prices.json"
MAX_LIST_BYTES = 64 * 1024 * 1024
FETCH_TIMEOUT = 30.0


class PriceSourceError(Exception):
    """An update's source could not be read; the message is one line for the user."""


@dataclass(frozen=True, slots=True)
class InstalledPrices:
    """The table in use and where it came from."""

    table: PriceTable
    origin: Literal["packaged", "user"]
    path: Path | None
    """The user's table file (whether or not it is the one in use)."""
    problem: str | None = None
    """Why the user's table was not used, when it cannot be read."""
    older: bool = False
    """The user's table is there but was built before the packaged one (which is used)."""


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """``CCSYNC_DATA_DIR``, else the user data directory (as the server's settings)."""
    env = os.environ if env is None else env
    configured = env.get("CCSYNC_DATA_DIR")
    if configured:
        return Path(configured).expanduser()
    return Path(platformdirs.user_data_dir("ccsync"))


def user_prices_path(directory: Path | None = None) -> Path:
    return (data_dir() if directory is None else directory) / FILE_NAME


def installed_prices(directory: Path | None = None) -> InstalledPrices:
    """The user's table when present, valid and not older than the packaged one, else
    the packaged one (with ``problem`` when the user's cannot be read)."""
    path = user_prices_path(directory)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return InstalledPrices(default_prices(), "packaged", path)
    except OSError as exc:
        problem = f"cannot read {path}: {exc.strerror or exc}"
    else:
        try:
            table = PriceTable.from_json(data)
        except PriceTableError as exc:
            problem = f"{path}: {exc}"
        else:
            if table.built < default_prices().built:  # ccsync was upgraded since the update
                return InstalledPrices(default_prices(), "packaged", path, older=True)
            return InstalledPrices(table, "user", path)
    return InstalledPrices(default_prices(), "packaged", path, problem)


def load_litellm(spec: str) -> tuple[dict[str, Any], str]:
    """LiteLLM's list from a path, an http(s) URL, a ``litellm`` wheel, or
    ``litellm==X.Y.Z`` (downloaded with pip); and how to name that source."""
    if spec.startswith(("http://", "https://")):
        return _parse(_fetch(spec), spec), spec
    if spec.startswith("litellm=="):
        import tempfile

        with tempfile.TemporaryDirectory(prefix="ccsync-litellm-") as tmp:
            return _parse(_wheel_json(_download_wheel(spec, Path(tmp))), spec), spec
    path = Path(spec).expanduser()
    if path.suffix == ".whl":
        version = path.name.split("-")[1] if path.name.count("-") >= 2 else "?"
        label = f"litellm=={version}, {path.name}"
        return _parse(_wheel_json(path), label), label
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PriceSourceError(f"cannot read {path}: {exc.strerror or exc}") from None
    return _parse(data, path.name), path.name


def update_prices(
    spec: str = LITELLM_URL, directory: Path | None = None, today: str | None = None
) -> tuple[PriceList, Path]:
    """Build a table from ``spec`` and make it the user's; returns it and where it went."""
    litellm, label = load_litellm(spec)
    built = today or datetime.now(UTC).date().isoformat()
    table = build_table(
        litellm,
        pinned_from_table(default_prices()),
        source=f"LiteLLM model_prices_and_context_window.json ({label}), Claude models, "
        "with the prices ccusage 20.0.24 charges kept",
        built=built,
    )
    if not any(
        is_claude(name) and isinstance(raw, dict) and litellm_price(name, raw) is not None
        for name, raw in litellm.items()
    ):
        raise PriceSourceError(f"{label}: no Claude model with a price in it")
    import tempfile

    path = user_prices_path(directory)
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".prices-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(msgspec.json.format(msgspec.json.encode(table), indent=1) + b"\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return table, path


def _parse(data: bytes, label: str) -> dict[str, Any]:
    try:
        parsed = msgspec.json.decode(data)
    except msgspec.DecodeError as exc:
        raise PriceSourceError(f"{label} is not JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise PriceSourceError(f"{label} is not a LiteLLM price list (not an object)")
    return parsed


def _fetch(url: str) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, timeout=FETCH_TIMEOUT, follow_redirects=True) as response:
            response.raise_for_status()
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_LIST_BYTES:
                    raise PriceSourceError(f"{url}: larger than {MAX_LIST_BYTES >> 20} MiB")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPStatusError as exc:
        raise PriceSourceError(f"{url}: HTTP {exc.response.status_code}") from None
    except httpx.HTTPError as exc:
        raise PriceSourceError(f"cannot fetch {url}: {exc or type(exc).__name__}") from None


def _download_wheel(spec: str, target: Path) -> Path:
    import subprocess

    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    try:
        done = subprocess.run(
            [*command, "--only-binary", ":all:", "-d", str(target), spec],
            capture_output=True,
            text=True,
            timeout=600,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PriceSourceError(f"pip download {spec} failed: {exc}") from None
    wheels = sorted(target.glob("litellm-*.whl"))
    if done.returncode != 0 or not wheels:
        lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
        errors = [line.removeprefix("ERROR: ") for line in lines if line.startswith("ERROR:")]
        why = (errors or lines or ["no wheel downloaded"])[-1]
        raise PriceSourceError(f"pip download {spec} failed: {why}")
    return wheels[0]


def _wheel_json(wheel: Path) -> bytes:
    import zipfile

    try:
        with zipfile.ZipFile(wheel) as archive:
            name = next((n for n in archive.namelist() if n.endswith("/" + WHEEL_JSON)), None)
            if name is None:
                raise PriceSourceError(f"{wheel.name} has no {WHEEL_JSON}")
            return archive.read(name)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PriceSourceError(f"cannot read {wheel}: {exc}") from None
