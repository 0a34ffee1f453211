"""The code package: `function_code/` with its dependencies vendored for Linux, as a reproducible zip.

The zip's sha256 is what the deployment resource compares, so the archive must be byte-for-byte
the same for the same inputs: entries sorted, timestamps and permissions fixed, nothing from the
build machine (compiled caches, console scripts with a local interpreter path) inside.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from components.config import StackConfig

ROOT = Path(__file__).resolve().parent.parent
SOURCE_DIR = ROOT / "function_code"
DEFAULT_CACHE_DIR = ROOT / "build" / "package"

HOST_JSON = "host.json"
REQUIREMENTS = "requirements.txt"
# Where the Python worker looks for vendored dependencies inside the package.
SITE_PACKAGES = ".python_packages/lib/site-packages"
# The API's own path prefix: every route of the app starts with it, and the tokens' audience is
# `https://<host>/api`.
ROUTE_PREFIX = "api"
# The Functions host's routePrefix: empty, so that the host hands the app the origin's well-known
# paths too (RFC 8414 / RFC 9728 metadata, eventapi/discovery.py). The app's routes carry /api
# themselves, so nothing else moves; the edge forwards and allows only the paths of the contract.
HOST_ROUTE_PREFIX = ""
# Origin paths outside the API prefix that the app serves: the discovery documents.
WELL_KNOWN_PATHS: tuple[str, ...] = (
    "/.well-known/oauth-authorization-server",
    f"/.well-known/oauth-protected-resource/{ROUTE_PREFIX}",
)

# What Flex Consumption's Python 3.11 workers run on; wheels only, so nothing compiles on this machine.
TARGET_PLATFORMS: tuple[str, ...] = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
TARGET_PYTHON = "3.11"
TARGET_IMPLEMENTATION = "cp"

# Never shipped: tests, caches, local settings and state (the dev signing key lives in .local).
EXCLUDED_NAMES: frozenset[str] = frozenset(
    {
        "tests",
        "__pycache__",
        "local.settings.json",
        ".local",
        ".venv",
        ".python_packages",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        ".DS_Store",
    }
)
EXCLUDED_SUFFIXES: tuple[str, ...] = (".pyc", ".pyo")
# pip writes console scripts here with this machine's interpreter path in the shebang.
EXCLUDED_VENDORED_DIRS: frozenset[str] = frozenset({"bin"})

# The earliest time a zip entry can carry: no trace of when the package was built.
FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
# Unix permission bits and creator system: the Flex host mounts the package as a Linux file
# system and cannot read entries that lack them (the app then starts with zero functions).
FILE_MODE = 0o644
ZIP_CREATE_SYSTEM_UNIX = 3
COMPRESS_LEVEL = 6
# Bumped whenever the archive layout changes, so that cached bundles are rebuilt.
BUNDLE_FORMAT = "1"

BUNDLE_PREFIX = "function_code-"
# Each zip is ~11 MiB and every code or throttle change makes a new one: keep only the most
# recently used, enough to switch between a few stacks without rebuilding.
MAX_CACHED_BUNDLES = 8
# Scratch names of an unfinished vendoring folder and an unfinished zip.
VENDOR_SCRATCH_PREFIX = ".building-"
ZIP_SCRATCH_PREFIX = ".zip-"
# Scratch left by a killed build; anything younger may belong to a build still running.
STALE_SCRATCH_SECONDS = 3600.0


class PackageError(RuntimeError):
    """The package could not be built (pip refused, or the source tree is incomplete)."""


@dataclass(frozen=True)
class HostHttpSettings:
    """host.json's `extensions.http`: the per-instance throttles the threat model asks for."""

    max_concurrent_requests: int
    """Requests one instance runs at once."""
    max_outstanding_requests: int
    """Requests one instance holds, queued plus running, before answering 429."""

    @classmethod
    def from_config(cls, config: StackConfig) -> HostHttpSettings:
        return cls(config.max_concurrent_requests, config.max_outstanding_requests)

    def as_host_json(self) -> dict[str, Any]:
        """The `extensions.http` block, as host.json spells it."""
        return {
            "routePrefix": HOST_ROUTE_PREFIX,
            "maxConcurrentRequests": self.max_concurrent_requests,
            "maxOutstandingRequests": self.max_outstanding_requests,
            "dynamicThrottlesEnabled": True,
        }


@dataclass(frozen=True)
class BundleArgs:
    """What a package is built from."""

    http: HostHttpSettings
    """The throttles written into the bundled host.json (stack config is their one source)."""
    source_dir: Path = SOURCE_DIR
    """The function app exactly as it is shipped: function_app.py, host.json, requirements.txt."""
    cache_dir: Path = DEFAULT_CACHE_DIR
    """Vendored dependencies and built zips, keyed by content hashes; safe to delete."""
    pip_sources: tuple[str, ...] = field(default=())
    """Extra pip options choosing where wheels come from (e.g. `--no-index --find-links DIR`)."""


@dataclass(frozen=True)
class Bundle:
    """A built package: where it is and what it hashes to."""

    path: Path
    sha256: str
    size_bytes: int


def bundled_host_json(checked_in: Mapping[str, Any], http: HostHttpSettings) -> dict[str, Any]:
    """host.json as shipped: the checked-in file with `extensions.http` taken from stack config."""
    bundled: dict[str, Any] = json.loads(json.dumps(checked_in))
    bundled.setdefault("extensions", {})["http"] = http.as_host_json()
    return bundled


def _excluded(relative: Path) -> bool:
    return any(part in EXCLUDED_NAMES for part in relative.parts) or relative.suffix in EXCLUDED_SUFFIXES


def _files_under(root: Path) -> Iterator[Path]:
    for directory, subdirs, files in os.walk(root):
        subdirs.sort()
        for name in sorted(files):
            yield Path(directory, name)


def source_files(source_dir: Path) -> list[tuple[str, Path]]:
    """The function app's own files as (archive name, path), sorted, without what is never shipped."""
    entries = []
    for path in _files_under(source_dir):
        relative = path.relative_to(source_dir)
        if not _excluded(relative) and relative.as_posix() != HOST_JSON:
            entries.append((relative.as_posix(), path))
    return sorted(entries)


def vendored_files(site_packages: Path) -> list[tuple[str, Path]]:
    """The vendored dependencies as (archive name, path), sorted, under `.python_packages/...`."""
    entries = []
    for path in _files_under(site_packages):
        relative = path.relative_to(site_packages)
        if relative.parts[0] in EXCLUDED_VENDORED_DIRS or _excluded(relative):
            continue
        entries.append((f"{SITE_PACKAGES}/{relative.as_posix()}", path))
    return sorted(entries)


@lru_cache(maxsize=8)
def _hashed_vendored_files(site_packages: Path, folder_identity: tuple[int, int]) -> tuple[tuple[str, Path, str], ...]:
    """`vendored_files` with each file's sha256, once per vendored folder and process.

    A vendored folder is written once (renamed into place complete) and never changed, so its
    files are hashed once; `folder_identity` (inode, change time) tells a folder removed and
    vendored again at the same path from the one hashed before.
    """
    return tuple((name, path, file_sha256(path)) for name, path in vendored_files(site_packages))


def _sha256_bytes(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, as lowercase hex."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def pip_command(requirements: Path, target: Path, pip_sources: Iterable[str] = ()) -> list[str]:
    """One pip call that vendors every dependency for the Flex workers' platform, wheels only.

    One call, because a second `--target` install does not merge namespace packages such as
    `azure` (an ImportError at run time), and `--upgrade` would wipe the first.
    """
    platforms = [arg for platform in TARGET_PLATFORMS for arg in ("--platform", platform)]
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "--no-compile",
        "--requirement",
        str(requirements),
        "--target",
        str(target),
        *platforms,
        "--python-version",
        TARGET_PYTHON,
        "--implementation",
        TARGET_IMPLEMENTATION,
        "--only-binary=:all:",
        *pip_sources,
    ]


def _vendor_key(requirements: Path, pip_sources: tuple[str, ...]) -> str:
    settings = json.dumps([TARGET_PLATFORMS, TARGET_PYTHON, TARGET_IMPLEMENTATION, pip_sources])
    return _sha256_bytes(requirements.read_bytes(), settings.encode())


def vendor_dependencies(requirements: Path, cache_dir: Path, pip_sources: tuple[str, ...] = ()) -> Path:
    """The site-packages folder for `requirements`, built once per distinct requirements file."""
    vendored = cache_dir / "vendor" / _vendor_key(requirements, pip_sources)[:32]
    if vendored.is_dir():
        return vendored
    vendored.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=VENDOR_SCRATCH_PREFIX, dir=vendored.parent))
    try:
        result = subprocess.run(  # noqa: S603 - this interpreter running pip, arguments built here
            pip_command(requirements, scratch / "site-packages", pip_sources),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-2000:]
            raise PackageError(f"pip could not vendor {requirements} for Linux/CPython {TARGET_PYTHON}:\n{output}")
        try:
            # Atomic: a concurrent build of the same key leaves exactly one complete folder.
            (scratch / "site-packages").rename(vendored)
        except OSError:
            if not vendored.is_dir():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return vendored


def _zip_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
    info.create_system = ZIP_CREATE_SYSTEM_UNIX
    info.external_attr = (0o100000 | FILE_MODE) << 16  # a regular file, rw-r--r--
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def write_zip(entries: Iterable[tuple[str, bytes]], destination: Path) -> None:
    """Write (name, content) entries in name order with fixed metadata, atomically."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch_name = tempfile.mkstemp(prefix=ZIP_SCRATCH_PREFIX, dir=destination.parent)
    os.close(handle)
    scratch = Path(scratch_name)
    try:
        with zipfile.ZipFile(scratch, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL) as archive:
            for name, content in sorted(entries, key=lambda entry: entry[0]):
                archive.writestr(_zip_info(name), content, compresslevel=COMPRESS_LEVEL)
        scratch.replace(destination)
    finally:
        scratch.unlink(missing_ok=True)


def _modified_at(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile by a concurrent build's pruning
        return None


def _remove(path: Path) -> None:
    # Pruning is housekeeping: a file another build removed first, or cannot be removed, must
    # never fail the build that returned a good bundle.
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError:
        pass


def prune_cache(cache_dir: Path, keep: Path) -> None:
    """Keep `keep` and the most recently used bundles, at most MAX_CACHED_BUNDLES in all; drop stale scratch."""
    bundles_dir = cache_dir / "bundles"
    used_at: dict[Path, float] = {}
    for path in bundles_dir.glob(f"{BUNDLE_PREFIX}*.zip"):
        modified_at = _modified_at(path)
        if path != keep and modified_at is not None:
            used_at[path] = modified_at
    others = sorted(used_at, key=used_at.__getitem__, reverse=True)
    for path in others[MAX_CACHED_BUNDLES - 1 :]:
        _remove(path)

    oldest_allowed = time.time() - STALE_SCRATCH_SECONDS
    for directory, prefix in ((cache_dir / "vendor", VENDOR_SCRATCH_PREFIX), (bundles_dir, ZIP_SCRATCH_PREFIX)):
        for path in directory.glob(f"{prefix}*"):
            modified_at = _modified_at(path)
            if modified_at is not None and modified_at < oldest_allowed:
                _remove(path)


def _read_host_json(source_dir: Path) -> dict[str, Any]:
    path = source_dir / HOST_JSON
    if not path.is_file():
        raise PackageError(f"{path} is missing: the Functions host refuses to start without it")
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def build_bundle(args: BundleArgs) -> Bundle:
    """Build (or reuse from the cache) the deployment zip for `args`; the same inputs give the same hash."""
    requirements = args.source_dir / REQUIREMENTS
    if not requirements.is_file():
        raise PackageError(f"{requirements} is missing: the package's dependencies are read from it")
    host_json = json.dumps(bundled_host_json(_read_host_json(args.source_dir), args.http), indent=2) + "\n"
    site_packages = vendor_dependencies(requirements, args.cache_dir, args.pip_sources)

    folder = site_packages.stat()
    vendored = _hashed_vendored_files(site_packages, (folder.st_ino, folder.st_ctime_ns))
    hashed = sorted([*((name, path, file_sha256(path)) for name, path in source_files(args.source_dir)), *vendored])
    entries = [(name, path) for name, path, _ in hashed]
    # A cached zip is reused only when every entry's name and content is the same.
    key = _sha256_bytes(
        BUNDLE_FORMAT.encode(),
        host_json.encode(),
        *(f"{name}\0{digest}".encode() for name, _, digest in hashed),
    )
    destination = args.cache_dir / "bundles" / f"{BUNDLE_PREFIX}{key[:32]}.zip"
    try:
        # The modification time records the last use: pruning keeps the most recently used zips.
        os.utime(destination)
    except FileNotFoundError:
        contents = [(HOST_JSON, host_json.encode()), *((name, path.read_bytes()) for name, path in entries)]
        write_zip(contents, destination)
    prune_cache(args.cache_dir, keep=destination)
    return Bundle(path=destination, sha256=file_sha256(destination), size_bytes=destination.stat().st_size)


def main() -> int:
    """`python -m components.package`: vendor the dependencies into the cache ahead of a run.

    `make install` calls it, so that the first `make preview` or `pulumi preview` after an
    install does not wait for the index.
    """
    site_packages = vendor_dependencies(SOURCE_DIR / REQUIREMENTS, DEFAULT_CACHE_DIR)
    print(f"dependencies for Linux/CPython {TARGET_PYTHON} vendored in {site_packages.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
