"""Refresh the vendored third-party files of the web app from the npm registry.

    python web/vendor/refresh.py                        # the pinned versions, verified
    python web/vendor/refresh.py --check                # offline: files match manifest.json
    python web/vendor/refresh.py --pin marked@18.2.2    # move a pin, then refresh it

``manifest.json`` pins each package's version and the registry's Subresource Integrity
digest of its tarball. A refresh asks the registry for the pinned version, refuses a
digest other than the pinned one, downloads the tarball, checks its sha512 against the
pin, and writes the listed files (and the notices the manifest carries) in place,
recording each file's sha256. Standard library only: no Node, no npm, no build step.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VENDOR = Path(__file__).resolve().parent
MANIFEST = VENDOR / "manifest.json"
REGISTRY = "https://registry.npmjs.org"
TIMEOUT_SECONDS = 60
# Files in the vendor folder that no package provides.
OWN_FILES = frozenset({"manifest.json", "refresh.py"})
PACKAGE_JSON = "package/package.json"


class VendorError(Exception):
    """A package, tarball or file that does not match what the manifest pins."""


@dataclass(frozen=True)
class Release:
    tarball: str
    integrity: str
    license: str


def registry_release(name: str, version: str) -> Release:
    with urllib.request.urlopen(f"{REGISTRY}/{name}/{version}", timeout=TIMEOUT_SECONDS) as answer:
        document: dict[str, Any] = json.load(answer)
    dist = document["dist"]
    return Release(dist["tarball"], dist["integrity"], str(document.get("license", "")))


def sri_sha512(content: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(content).digest()).decode("ascii")


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def download(url: str) -> bytes:
    if not url.startswith(f"{REGISTRY}/"):
        raise VendorError(f"{url} is not a tarball of {REGISTRY}")
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as answer:
        content: bytes = answer.read()
    return content


def members(tarball: bytes, names: set[str]) -> dict[str, bytes]:
    """The regular files ``names`` of an npm tarball, read in memory (nothing extracted)."""
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        for member in archive.getmembers():
            if member.name in names and member.isreg():
                extracted = archive.extractfile(member)
                if extracted is not None:
                    found[member.name] = extracted.read()
    missing = names - found.keys()
    if missing:
        raise VendorError(f"the tarball has no {sorted(missing)}")
    return found


def refresh_package(package: dict[str, Any]) -> None:
    name, version, pinned = package["name"], package["version"], package["integrity"]
    release = registry_release(name, version)
    if release.integrity != pinned:
        raise VendorError(
            f"{name}@{version}: the registry says {release.integrity}, pinned {pinned}"
        )
    tarball = download(release.tarball)
    if sri_sha512(tarball) != pinned:
        raise VendorError(f"{name}@{version}: the tarball does not match its pinned integrity")
    files = package["files"]
    found = members(tarball, {PACKAGE_JSON, *(entry["source"] for entry in files)})
    described = json.loads(found[PACKAGE_JSON])
    if (described.get("name"), described.get("version")) != (name, version):
        raise VendorError(f"{name}@{version}: its package.json names another release")
    for entry in files:
        content = found[entry["source"]]
        target = VENDOR / entry["target"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        entry["sha256"] = sha256(content)
    for target, text in package.get("notices", {}).items():
        (VENDOR / target).write_text(text, encoding="utf-8")
    package["license"] = release.license
    print(f"{name}@{version}: {len(files)} files, integrity verified")


def pin(packages: list[dict[str, Any]], spec: str) -> dict[str, Any]:
    """Move ``name@version``'s pin to what the registry publishes for it."""
    name, _, version = spec.rpartition("@")
    package = next((p for p in packages if p["name"] == name), None)
    if package is None or not version:
        raise VendorError(f"{spec}: name a package of the manifest as name@version")
    release = registry_release(name, version)
    package["version"], package["integrity"] = version, release.integrity
    print(f"{name}: pinned {version} ({release.integrity})")
    return package


def expected_files(packages: list[dict[str, Any]]) -> dict[str, str | None]:
    """Every vendored path, with its sha256 (None for a notice, checked by content)."""
    expected: dict[str, str | None] = {}
    for package in packages:
        for entry in package["files"]:
            expected[entry["target"]] = entry["sha256"]
        for target in package.get("notices", {}):
            expected[target] = None
    return expected


def check(packages: list[dict[str, Any]]) -> list[str]:
    """What differs between the vendor folder and the manifest (empty when they agree)."""
    problems: list[str] = []
    expected = expected_files(packages)
    notices = {t: text for p in packages for t, text in p.get("notices", {}).items()}
    for target, digest in sorted(expected.items()):
        path = VENDOR / target
        if not path.is_file():
            problems.append(f"{target}: missing")
        elif digest is not None and sha256(path.read_bytes()) != digest:
            problems.append(f"{target}: sha256 differs from the manifest")
        elif digest is None and path.read_text(encoding="utf-8") != notices[target]:
            problems.append(f"{target}: differs from the manifest's notice")
    for path in sorted(VENDOR.rglob("*")):
        relative = path.relative_to(VENDOR).as_posix()
        listed = relative in expected or relative in OWN_FILES
        if path.is_file() and not listed and "__pycache__" not in path.parts:
            problems.append(f"{relative}: not in the manifest")
    for package in packages:
        if not any(Path(e["target"]).name.startswith("LICENSE") for e in package["files"]):
            problems.append(f"{package['name']}: no licence file vendored")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="verify the files offline")
    parser.add_argument("--pin", metavar="NAME@VERSION", help="move one pin, then refresh it")
    args = parser.parse_args(argv)
    document = json.loads(MANIFEST.read_text(encoding="utf-8"))
    packages: list[dict[str, Any]] = document["packages"]
    try:
        if args.check:
            problems = check(packages)
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        chosen = [pin(packages, args.pin)] if args.pin else packages
        for package in chosen:
            refresh_package(package)
    except VendorError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    MANIFEST.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
