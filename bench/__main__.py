"""Run every benchmark module in this package and print what each measured."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import bench


def main() -> int:
    modules = sorted(info.name for info in pkgutil.iter_modules(bench.__path__) if not info.name.startswith("_"))
    for name in modules:
        module = importlib.import_module(f"bench.{name}")
        run = getattr(module, "run", None)
        if run is None:
            continue
        print(f"== {name}: {(module.__doc__ or '').strip().splitlines()[0]}")
        for measurement in run():
            print("   " + measurement.render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
