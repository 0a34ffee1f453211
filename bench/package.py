"""The code package: bundle size, and build time cold (pip from the index) against cached."""

from __future__ import annotations

import tempfile
import time
import zipfile
from pathlib import Path

from bench import Measurement
from components.package import BundleArgs, HostHttpSettings, build_bundle

# Pulumi.yaml's defaults; the throttles do not change the bundle's size.
HTTP = HostHttpSettings(max_concurrent_requests=8, max_outstanding_requests=32)
MIB = 1024 * 1024


def run() -> list[Measurement]:
    with tempfile.TemporaryDirectory(prefix="eventstack-bench-") as scratch:
        args = BundleArgs(http=HTTP, cache_dir=Path(scratch))
        started = time.perf_counter()
        bundle = build_bundle(args)
        cold = time.perf_counter() - started

        started = time.perf_counter()
        again = build_bundle(args)
        cached = time.perf_counter() - started
        if again.sha256 != bundle.sha256:
            raise AssertionError("two builds of the same tree differ: the package is not reproducible")

        with zipfile.ZipFile(bundle.path) as archive:
            infos = archive.infolist()
    return [
        Measurement("bundle size (compressed)", bundle.size_bytes / MIB, "MiB"),
        Measurement("bundle size (uncompressed)", sum(i.file_size for i in infos) / MIB, "MiB"),
        Measurement("bundle entries", len(infos), "files"),
        Measurement("cold build: vendor from the index + zip", cold, "s"),
        Measurement("cached build: hash inputs, reuse zip", cached, "s"),
        Measurement("cached / cold build time", cached / cold, "ratio"),
    ]
