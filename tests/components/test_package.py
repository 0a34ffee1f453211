"""The code package: host.json from config, a reproducible zip, Linux wheels, nothing local inside."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from components import package
from components.config import parse_config
from components.package import (
    FIXED_TIMESTAMP,
    MAX_CACHED_BUNDLES,
    SITE_PACKAGES,
    Bundle,
    BundleArgs,
    HostHttpSettings,
    PackageError,
    build_bundle,
)
from dev.offline import ROOT, project_defaults, stack_config

CHECKED_IN_HOST_JSON = ROOT / "function_code" / "host.json"
DEFAULT_HTTP = HostHttpSettings(max_concurrent_requests=8, max_outstanding_requests=32)


@pytest.fixture(scope="session")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local wheel set with one tiny pure-Python package, built offline with pip and flit_core."""
    source = tmp_path_factory.mktemp("tinydep-src")
    (source / "tinydep").mkdir()
    (source / "tinydep" / "__init__.py").write_text('"""A throwaway dependency."""\n\nVALUE = 42\n')
    (source / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [build-system]
            requires = ["flit_core"]
            build-backend = "flit_core.buildapi"

            [project]
            name = "tinydep"
            version = "1.0"
            description = "A throwaway dependency."
            """
        )
    )
    wheels = tmp_path_factory.mktemp("wheelhouse")
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", "--isolated", "--no-build-isolation", "--no-deps", "--no-index"),
            *("--quiet", "--wheel-dir", str(wheels), str(source)),
        ],
        check=True,
    )
    assert [w.name for w in wheels.glob("tinydep-1.0-*.whl")], "pip built no wheel"
    return wheels


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the tests that do not look at vendoring: bundles are keyed by content anyway."""
    return tmp_path_factory.mktemp("package-cache")


def _offline(wheels: Path) -> tuple[str, ...]:
    return ("--isolated", "--no-index", "--find-links", str(wheels))


@pytest.fixture
def source_tree(tmp_path: Path) -> Path:
    """A function_code/ look-alike, with everything the package must leave out."""
    tree = tmp_path / "function_code"
    files = {
        "function_app.py": "import azure.functions as func\n",
        "requirements.txt": "tinydep==1.0\n",
        "eventapi/__init__.py": "",
        "eventapi/routes.py": "ROUTES = []\n",
        "eventapi/__pycache__/routes.cpython-311.pyc": "compiled",
        "eventapi/stale.pyc": "compiled",
        "tests/test_routes.py": "def test_x(): pass\n",
        "local.settings.json": '{"Values": {"AzureWebJobsStorage": "UseDevelopmentStorage=true"}}',
        ".local/signing-key.pem": "-----BEGIN EC PRIVATE KEY-----",
        ".venv/bin/python": "#!/bin/sh\n",
    }
    for name, content in files.items():
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    shutil.copy(CHECKED_IN_HOST_JSON, tree / "host.json")
    return tree


def _build(source: Path, cache: Path, wheels: Path, http: HostHttpSettings = DEFAULT_HTTP) -> Bundle:
    return build_bundle(BundleArgs(http=http, source_dir=source, cache_dir=cache, pip_sources=_offline(wheels)))


def _names(bundle: Bundle) -> list[str]:
    with zipfile.ZipFile(bundle.path) as archive:
        return archive.namelist()


def _read(bundle: Bundle, name: str) -> bytes:
    with zipfile.ZipFile(bundle.path) as archive:
        return archive.read(name)


# host.json: one source of truth


def test_checked_in_host_json_agrees_with_pulumi_yaml_defaults() -> None:
    defaults = project_defaults()
    expected = HostHttpSettings(
        max_concurrent_requests=int(defaults["eventstack:maxConcurrentRequests"]),
        max_outstanding_requests=int(defaults["eventstack:maxOutstandingRequests"]),
    )
    checked_in = json.loads(CHECKED_IN_HOST_JSON.read_text())
    assert checked_in["extensions"]["http"] == expected.as_host_json()


def test_host_json_throttles_every_instance() -> None:
    http = json.loads(CHECKED_IN_HOST_JSON.read_text())["extensions"]["http"]
    assert http["dynamicThrottlesEnabled"] is True
    # Empty: the app's routes carry /api, and the host must also hand over /.well-known/ (discovery).
    assert http["routePrefix"] == ""
    assert http["maxConcurrentRequests"] <= http["maxOutstandingRequests"]


def test_host_json_bounds_every_invocation() -> None:
    host = json.loads(CHECKED_IN_HOST_JSON.read_text())
    assert host["version"] == "2.0"
    hours, minutes, seconds = (int(part) for part in host["functionTimeout"].split(":"))
    assert 0 < hours * 3600 + minutes * 60 + seconds <= 300


QUIET_LEVELS = {"Warning", "Error", "Critical", "None"}


def test_host_json_logs_no_request_bodies_or_tokens() -> None:
    logging = json.loads(CHECKED_IN_HOST_JSON.read_text())["logging"]
    levels = logging["logLevel"]
    # Function logs are where a handler's payloads would land.
    assert levels["default"] in QUIET_LEVELS
    assert levels["Function"] in QUIET_LEVELS
    assert logging["fileLoggingMode"] == "never"
    insights = logging["applicationInsights"]
    assert insights["samplingSettings"]["isEnabled"] is True
    # Live metrics stream raw telemetry; dependency telemetry records outbound URLs (the GitHub
    # device-flow calls among them). Extended HTTP info stays on: without it a request's result
    # code is not its HTTP status and the alerts cannot count 429s and 5xx; the client IP it adds
    # is masked by Application Insights (components/monitoring.py keeps masking on).
    assert insights["enableLiveMetrics"] is False
    assert insights["enableDependencyTracking"] is False


def test_host_json_sends_every_request_result_the_alerts_count() -> None:
    """Host.Results below Information keeps successes (and the app's own 429s and 5xx) out of `requests`."""
    logging = json.loads(CHECKED_IN_HOST_JSON.read_text())["logging"]
    assert logging["logLevel"]["Host.Results"] in {"Trace", "Debug", "Information"}
    # A "Host" entry would be the more general one; Host.Results, the more specific, wins anyway.
    excluded = {t.strip() for t in logging["applicationInsights"]["samplingSettings"]["excludedTypes"].split(";")}
    assert "Request" in excluded
    assert "Request" not in logging["applicationInsights"]["samplingSettings"].get("includedTypes", "")
    assert logging["applicationInsights"]["httpAutoCollectionOptions"]["enableHttpTriggerExtendedInfoCollection"]


def test_bundled_host_json_takes_the_throttles_from_config(
    source_tree: Path, shared_cache: Path, wheelhouse: Path
) -> None:
    bundle = _build(source_tree, shared_cache, wheelhouse, HostHttpSettings(3, 9))
    bundled = json.loads(_read(bundle, "host.json"))
    assert bundled["extensions"]["http"] == {
        "routePrefix": "",
        "maxConcurrentRequests": 3,
        "maxOutstandingRequests": 9,
        "dynamicThrottlesEnabled": True,
    }
    checked_in = json.loads(CHECKED_IN_HOST_JSON.read_text())
    assert {k: v for k, v in bundled.items() if k != "extensions"} == {
        k: v for k, v in checked_in.items() if k != "extensions"
    }


def test_host_http_settings_come_from_stack_config() -> None:
    values = {
        k.split(":", 1)[1]: v
        for k, v in stack_config("dev", {"maxConcurrentRequests": 12, "maxOutstandingRequests": 40}).items()
    }
    config = parse_config(values, "dev")
    assert HostHttpSettings.from_config(config) == HostHttpSettings(12, 40)


# The zip: reproducible, complete, nothing local


def test_two_builds_of_the_same_tree_are_byte_identical(source_tree: Path, tmp_path: Path, wheelhouse: Path) -> None:
    first = _build(source_tree, tmp_path / "cache-a", wheelhouse)
    # New modification times, a fresh cache and fresh vendoring: none of it may show in the zip.
    for path in source_tree.rglob("*"):
        os.utime(path, (1_900_000_000, 1_900_000_000))
    second = _build(source_tree, tmp_path / "cache-b", wheelhouse)
    assert first.sha256 == second.sha256
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.size_bytes == first.path.stat().st_size


def test_one_changed_source_file_changes_the_hash(source_tree: Path, shared_cache: Path, wheelhouse: Path) -> None:
    before = _build(source_tree, shared_cache, wheelhouse)
    (source_tree / "eventapi" / "routes.py").write_text("ROUTES = ['/api/health']\n")
    after = _build(source_tree, shared_cache, wheelhouse)
    assert after.sha256 != before.sha256
    assert _read(after, "eventapi/routes.py") == b"ROUTES = ['/api/health']\n"


def test_a_changed_throttle_changes_the_hash(source_tree: Path, shared_cache: Path, wheelhouse: Path) -> None:
    before = _build(source_tree, shared_cache, wheelhouse)
    after = _build(source_tree, shared_cache, wheelhouse, HostHttpSettings(8, 33))
    assert after.sha256 != before.sha256


def test_the_zip_holds_the_app_and_its_vendored_dependencies(
    source_tree: Path, shared_cache: Path, wheelhouse: Path
) -> None:
    names = _names(_build(source_tree, shared_cache, wheelhouse))
    assert "function_app.py" in names
    assert "host.json" in names
    assert "requirements.txt" in names
    assert "eventapi/routes.py" in names
    assert f"{SITE_PACKAGES}/tinydep/__init__.py" in names
    assert f"{SITE_PACKAGES}/tinydep-1.0.dist-info/METADATA" in names


def test_the_real_source_tree_ships_the_wall_page_files() -> None:
    # The page, its script, style and icon are read from eventapi/static/ at import time: a
    # package without them would not start.
    shipped = {name for name, _ in package.source_files(package.SOURCE_DIR)}
    for name in ("wall.html", "wall.js", "wall.css", "wall.svg", "join.html", "join.js", "join.css"):
        assert f"eventapi/static/{name}" in shipped


def test_the_zip_leaves_out_tests_caches_and_local_files(
    source_tree: Path, shared_cache: Path, wheelhouse: Path
) -> None:
    names = _names(_build(source_tree, shared_cache, wheelhouse))
    for name in names:
        parts = name.split("/")
        assert "tests" not in parts, name
        assert "__pycache__" not in parts, name
        assert not name.endswith(".pyc"), name
        assert parts[0] not in {"local.settings.json", ".local", ".venv"}, name
        assert not name.startswith(f"{SITE_PACKAGES}/bin/"), name


def test_entries_are_sorted_with_fixed_time_and_linux_permissions(
    source_tree: Path, shared_cache: Path, wheelhouse: Path
) -> None:
    bundle = _build(source_tree, shared_cache, wheelhouse)
    with zipfile.ZipFile(bundle.path) as archive:
        infos = archive.infolist()
    assert [i.filename for i in infos] == sorted(i.filename for i in infos)
    for info in infos:
        assert info.date_time == FIXED_TIMESTAMP, info.filename
        assert info.create_system == 3, info.filename
        # Without these bits the Flex host cannot read the file and registers no function.
        assert (info.external_attr >> 16) & 0o777 == 0o644, info.filename


def test_a_missing_host_json_is_refused(source_tree: Path, shared_cache: Path, wheelhouse: Path) -> None:
    (source_tree / "host.json").unlink()
    with pytest.raises(PackageError, match=r"host\.json is missing"):
        _build(source_tree, shared_cache, wheelhouse)


# Vendoring: one pip call, cached by the requirements' hash


def test_vendoring_runs_pip_once_per_requirements_file(
    source_tree: Path, tmp_path: Path, wheelhouse: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    real_run = subprocess.run

    def counting_run(command: list[str], **kwargs: Any) -> Any:
        calls.append(command)
        return real_run(command, **kwargs)

    monkeypatch.setattr(package.subprocess, "run", counting_run)
    cache = tmp_path / "cache"
    first = _build(source_tree, cache, wheelhouse)
    (source_tree / "function_app.py").write_text("import azure.functions as func  # changed\n")
    second = _build(source_tree, cache, wheelhouse)
    assert len(calls) == 1
    assert first.sha256 != second.sha256

    (source_tree / "requirements.txt").write_text("tinydep==1.0\n# a new pin\n")
    _build(source_tree, cache, wheelhouse)
    assert len(calls) == 2


def test_pip_vendors_linux_wheels_in_one_call(tmp_path: Path) -> None:
    command = package.pip_command(tmp_path / "requirements.txt", tmp_path / "target", ("--no-index",))
    assert command[:4] == [sys.executable, "-m", "pip", "install"]
    assert command.count("--requirement") == 1
    assert command.count("--target") == 1
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == ["manylinux2014_x86_64", "manylinux_2_28_x86_64"]
    assert command[command.index("--python-version") + 1] == "3.11"
    assert command[command.index("--implementation") + 1] == "cp"
    assert "--only-binary=:all:" in command
    assert "--upgrade" not in command
    assert command[-1] == "--no-index"


def test_a_pip_refusal_names_the_requirements_and_pip_output(
    source_tree: Path, tmp_path: Path, wheelhouse: Path
) -> None:
    (source_tree / "requirements.txt").write_text("no-such-dependency==9.9\n")
    with pytest.raises(PackageError, match=r"(?s)pip could not vendor .*requirements\.txt.*no-such-dependency"):
        _build(source_tree, tmp_path / "cache", wheelhouse)
    assert not list((tmp_path / "cache" / "vendor").iterdir()), "a failed build must leave no cache entry"


@pytest.mark.slow
def test_the_real_bundle_vendors_linux_wheels(tmp_path: Path) -> None:
    """Builds function_code/ as shipped, from the package index (cached under build/package)."""
    bundle = build_bundle(BundleArgs(http=DEFAULT_HTTP))
    names = set(_names(bundle))
    assert {"function_app.py", "host.json", "requirements.txt"} <= names
    modules = (
        "azure/functions",
        "azure/identity",
        "azure/data/tables",
        "azure/keyvault/keys",
        "fastapi",
        "jwt",
        "segno",
    )
    for module in modules:
        assert f"{SITE_PACKAGES}/{module}/__init__.py" in names, module
    # The azure namespace holds every azure-* distribution: they were installed in one pip call.
    assert not any(name.startswith(f"{SITE_PACKAGES}/azure_functions_worker/") for name in names)
    wheel_tags = [
        _read(bundle, name).decode()
        for name in names
        if name.startswith(f"{SITE_PACKAGES}/cryptography-") and name.endswith(".dist-info/WHEEL")
    ]
    assert wheel_tags and "manylinux" in wheel_tags[0] and "x86_64" in wheel_tags[0]
    assert any(name.endswith(".cpython-311-x86_64-linux-gnu.so") for name in names)
    assert not any(name.endswith((".pyc", ".dll", ".dylib")) for name in names)


def test_the_real_bundle_draws_the_join_code_with_its_own_dependencies(tmp_path: Path) -> None:
    """The wall's QR code comes from the vendored segno: the bundle alone, no development packages."""
    bundle = build_bundle(BundleArgs(http=DEFAULT_HTTP))
    with zipfile.ZipFile(bundle.path) as archive:
        archive.extractall(tmp_path)
    script = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; "
        "from eventapi.qr import qr_svg; import segno; "
        "assert segno.__file__.startswith(sys.argv[2]), segno.__file__; "
        "print(qr_svg('https://wall.example/api/join')[:4].decode())"
    )
    # -I -S: no user site, no environment, no site-packages of this interpreter's virtualenv.
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", script, str(tmp_path), str(tmp_path / SITE_PACKAGES)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "<svg"


# The cache: bounded, whatever the number of builds


def _cached_zips(cache: Path) -> set[Path]:
    return set((cache / "bundles").glob("function_code-*.zip"))


def _age(path: Path, seconds: float) -> None:
    at = time.time() - seconds
    os.utime(path, (at, at))


def test_the_cache_keeps_only_the_most_recently_used_bundles(
    source_tree: Path, tmp_path: Path, wheelhouse: Path
) -> None:
    cache = tmp_path / "cache"
    built = []
    for index in range(MAX_CACHED_BUNDLES + 3):
        bundle = _build(source_tree, cache, wheelhouse, HostHttpSettings(index + 1, 64))
        # Explicit last-use times, oldest build first: the order cannot hinge on timestamp granularity.
        _age(bundle.path, 10_000 - index)
        built.append(bundle)
    assert _cached_zips(cache) == {bundle.path for bundle in built[-MAX_CACHED_BUNDLES:]}

    # Reusing the oldest cached zip makes it the most recently used: the next build evicts the one after it.
    oldest_kept = len(built) - MAX_CACHED_BUNDLES
    reused = _build(source_tree, cache, wheelhouse, HostHttpSettings(oldest_kept + 1, 64))
    assert reused.path == built[oldest_kept].path
    newest = _build(source_tree, cache, wheelhouse, HostHttpSettings(99, 64))
    assert _cached_zips(cache) == {reused.path, newest.path, *(b.path for b in built[-MAX_CACHED_BUNDLES + 2 :])}
    assert len(_cached_zips(cache)) == MAX_CACHED_BUNDLES
    assert newest.sha256 == package.file_sha256(newest.path)


def test_the_bundle_just_returned_is_never_pruned(tmp_path: Path) -> None:
    bundles = tmp_path / "cache" / "bundles"
    bundles.mkdir(parents=True)
    zips = [bundles / f"function_code-{index:032d}.zip" for index in range(MAX_CACHED_BUNDLES + 2)]
    for age, path in enumerate(zips):
        path.write_bytes(b"PK")
        _age(path, 100 + age)
    # The oldest by last use, as after a clock step or a file system without usable times.
    oldest = zips[-1]
    package.prune_cache(tmp_path / "cache", keep=oldest)
    assert _cached_zips(tmp_path / "cache") == {oldest, *zips[: MAX_CACHED_BUNDLES - 1]}


def test_scratch_left_by_killed_builds_is_removed_after_an_hour(
    source_tree: Path, tmp_path: Path, wheelhouse: Path
) -> None:
    cache = tmp_path / "cache"
    first = _build(source_tree, cache, wheelhouse)
    vendor_dir, bundles_dir = cache / "vendor", cache / "bundles"
    stale = [vendor_dir / ".building-killed", bundles_dir / ".zip-killed"]
    running = [vendor_dir / ".building-running", bundles_dir / ".zip-running"]
    unrelated = bundles_dir / "notes.txt"
    for directory in (stale[0], running[0]):
        (directory / "site-packages" / "tinydep").mkdir(parents=True)
        (directory / "site-packages" / "tinydep" / "__init__.py").write_text("VALUE = 42\n")
    for scratch_file in (stale[1], running[1], unrelated):
        scratch_file.write_bytes(b"partial")
    for path in (*stale, unrelated):
        _age(path, 2 * 3600)
    for path in running:
        _age(path, 30 * 60)
    vendored = [path for path in vendor_dir.iterdir() if not path.name.startswith(".")]

    second = _build(source_tree, cache, wheelhouse, HostHttpSettings(5, 50))

    assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in running)
    assert unrelated.exists()
    assert all(path.is_dir() for path in vendored) and vendored
    assert _cached_zips(cache) == {first.path, second.path}


def test_the_vendor_command_fills_the_cache_a_preview_then_reuses(capsys: pytest.CaptureFixture[str]) -> None:
    from components.package import DEFAULT_CACHE_DIR, REQUIREMENTS, SOURCE_DIR, main, vendor_dependencies

    assert main() == 0
    out = capsys.readouterr().out
    vendored = vendor_dependencies(SOURCE_DIR / REQUIREMENTS, DEFAULT_CACHE_DIR)
    assert str(vendored.relative_to(ROOT)) in out
    assert (vendored / "fastapi").is_dir()
