"""Building a function's code package: the user's source, its vendored requirements, the shim.

The zip is deterministic: entries sorted by name, fixed timestamps and permissions, fixed
compression, so identical inputs give identical bytes (and the cloud's code hash does not change
on a re-deploy). ``__pycache__``, ``*.pyc`` and ``.git`` are left out.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path, PurePosixPath
from types import MappingProxyType

from ._errors import InvalidRequest
from ._function_models import FunctionPackage
from .shims import COMMON_MODULE, SHIM_MODULE, shim_source

REQUIREMENTS = "requirements.txt"
_EPOCH = (1980, 1, 1, 0, 0, 0)
_SKIP_DIRS = frozenset({"__pycache__", ".git"})
#: How long installing requirements may take.
PIP_TIMEOUT_S = 600
#: The files a shim puts at the package root, as {name in the zip: file in
#: ``unicompute/shims/``}, for shims that are not a single ``unicompute_shim.py`` (the default,
#: Lambda's and Cloud Functions'). Every name is reserved: a source that holds one is refused.
SHIM_LAYOUTS: Mapping[str, Mapping[str, str]] = MappingProxyType({
    # The Azure Functions Python v2 model indexes function_app.py; host.json configures the host.
    "azure_functions": MappingProxyType({"function_app.py": "azure_functions.py",
                                         "host.json": "azure_functions_host.json"}),
})
#: What every shim imports, added at the package root next to each shim's own files (and
#: reserved as they are).
COMMON_FILES: Mapping[str, str] = MappingProxyType({f"{COMMON_MODULE}.py": "common.py"})


def build_package(source: Path, *, shim: str, max_bytes: int) -> FunctionPackage:
    """The zip of ``source`` (a directory or a ``.zip``) with :func:`shim_files` of ``shim``
    added at its root. A
    ``requirements.txt`` at the root of the source is installed into the package with ``pip
    install --target`` of the running interpreter, run in the source directory (so relative
    paths in it name local packages).

    ``InvalidRequest`` naming ``source`` when it does not exist, is not a directory or a valid
    zip, already holds a file the shim adds, its requirements fail to install, or the zip
    is bigger than ``max_bytes``.
    """
    if source.is_dir():
        zip_bytes = _build_from_dir(source, shim)
    elif source.is_file() and zipfile.is_zipfile(source):
        with tempfile.TemporaryDirectory(prefix="uc-src-") as tmp:
            _extract(source, Path(tmp))
            zip_bytes = _build_from_dir(Path(tmp), shim)
    elif source.exists():
        raise InvalidRequest(f"{source} is neither a directory nor a .zip file", field="source")
    else:
        raise InvalidRequest(f"{source} does not exist", field="source")
    if len(zip_bytes) > max_bytes:
        raise InvalidRequest(f"the package is {len(zip_bytes)} bytes zipped; at most {max_bytes}",
                             field="source")
    return FunctionPackage(zip_bytes=zip_bytes, sha256=hashlib.sha256(zip_bytes).digest())


def shim_files(shim: str) -> dict[str, bytes]:
    """The files shim ``shim`` adds at the package root, {name in the zip: content}: the
    shim as ``unicompute_shim.py`` (or the files :data:`SHIM_LAYOUTS` names for it) and
    :data:`COMMON_FILES`."""
    folder = resources.files("unicompute.shims")
    layout = SHIM_LAYOUTS.get(shim)
    files = ({f"{SHIM_MODULE}.py": shim_source(shim)} if layout is None else
             {name: folder.joinpath(resource).read_bytes() for name, resource in layout.items()})
    files.update({name: folder.joinpath(resource).read_bytes()
                  for name, resource in COMMON_FILES.items()})
    return files


def _build_from_dir(root: Path, shim: str) -> bytes:
    added = shim_files(shim)
    for shim_name in sorted(added):
        if (root / shim_name).exists():
            raise InvalidRequest(f"{shim_name} is reserved for unicompute's shim",
                                 field="source")
    files: dict[str, Path] = dict(_walk(root))
    with tempfile.TemporaryDirectory(prefix="uc-deps-") as deps:
        if (root / REQUIREMENTS).is_file():
            _install_requirements(root, Path(deps))
            for name, path in _walk(Path(deps)):
                files.setdefault(name, path)  # the user's own file wins over a dependency's
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            entries = {name: path.read_bytes() for name, path in files.items()}
            entries.update(added)
            for name in sorted(entries):
                info = zipfile.ZipInfo(name, date_time=_EPOCH)
                info.compress_type = zipfile.ZIP_DEFLATED
                executable = name in files and os.access(files[name], os.X_OK)
                info.external_attr = (0o100755 if executable else 0o100644) << 16
                archive.writestr(info, entries[name])
    return buffer.getvalue()


def _walk(root: Path) -> Iterator[tuple[str, Path]]:
    """``(zip name, path)`` of every file under ``root``, skipping caches and VCS data."""
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if d not in _SKIP_DIRS]
        for name in names:
            if name.endswith(".pyc"):
                continue
            path = Path(directory, name)
            if path.is_file():
                yield path.relative_to(root).as_posix(), path


def _extract(source: Path, target: Path) -> None:
    try:
        with zipfile.ZipFile(source) as archive:
            for member in archive.infolist():
                parts = PurePosixPath(member.filename).parts
                if member.filename.startswith("/") or ".." in parts or "\\" in member.filename:
                    raise InvalidRequest(f"{source}: entry {member.filename!r} points outside "
                                         "the archive", field="source")
            archive.extractall(target)
    except zipfile.BadZipFile as exc:
        raise InvalidRequest(f"{source} is not a valid zip: {exc}", field="source") from exc


def _install_requirements(root: Path, target: Path) -> None:
    command = [
        sys.executable, "-m", "pip", "install", "--target", str(target), "-r", REQUIREMENTS,
        "--no-compile", "--disable-pip-version-check", "--no-input", "--quiet",
    ]
    try:
        done = subprocess.run(command, cwd=root, capture_output=True, text=True,
                              timeout=PIP_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise InvalidRequest(f"installing {REQUIREMENTS} took over {PIP_TIMEOUT_S} s",
                             field="source") from exc
    if done.returncode != 0:
        # pip hides passwords in the index URLs it prints.
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise InvalidRequest(f"pip could not install {REQUIREMENTS}:\n{tail}", field="source")
