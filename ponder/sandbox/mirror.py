"""The machine's Debian mirror, read from apt's sources (deb822 `.sources` and one-line `.list`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ponder.errors import SandboxError

DEFAULT_APT_DIR = Path("/etc/apt")


@dataclass(frozen=True)
class AptSource:
    """One `deb` entry: a mirror URI, its suites and components."""

    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...] = ()


def parse_deb822(text: str) -> list[AptSource]:
    """Entries of a deb822 `.sources` file (stanzas separated by blank lines; `Enabled: no` skipped)."""
    sources = []
    for stanza in _stanzas(text):
        if "deb" not in stanza.get("types", "").split():
            continue
        if stanza.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(stanza.get("suites", "").split())
        components = tuple(stanza.get("components", "").split())
        sources += [AptSource(uri, suites, components) for uri in stanza.get("uris", "").split()]
    return sources


def _stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = [{}]
    key = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("#"):
            continue
        if not line.strip():
            if stanzas[-1]:
                stanzas.append({})
            key = None
        elif line[0] in " \t" and key:
            stanzas[-1][key] += " " + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            stanzas[-1][key] = value.strip()
    return [stanza for stanza in stanzas if stanza]


def parse_one_line(text: str) -> list[AptSource]:
    """Entries of a one-line `sources.list` (`deb [opts] URI SUITE COMPONENT...`)."""
    sources = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        words = line.split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if words and words[0].startswith("["):
            while words and not words[0].endswith("]"):
                words = words[1:]
            words = words[1:]
        if len(words) >= 2:
            sources.append(AptSource(words[0], (words[1],), tuple(words[2:])))
    return sources


def apt_sources(apt_dir: Path = DEFAULT_APT_DIR) -> list[AptSource]:
    """Every `deb` entry of sources.list, sources.list.d/*.list and sources.list.d/*.sources."""
    found: list[AptSource] = []
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            found += parse_deb822(text)
        elif path.suffix == ".list" or path.name == "sources.list":
            found += parse_one_line(text)
    return found


def debian_mirror(suite: str = "bookworm", apt_dir: Path = DEFAULT_APT_DIR) -> str:
    """The mirror URI that serves `suite` itself (not -security/-updates)."""
    sources = apt_sources(apt_dir)
    for source in sources:
        if suite in source.suites and "security" not in source.uri:
            return source.uri
    for source in sources:
        if "security" not in source.uri and "debian" in source.uri:
            return source.uri
    raise SandboxError(
        f"no Debian mirror for {suite!r} found in {apt_dir}/sources.list(.d)",
        fix="pass the mirror explicitly: ponder sandbox build --offline --mirror http://deb.debian.org/debian",
    )
