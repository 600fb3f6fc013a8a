"""Read supported files into titled sections: .txt .md .html .pdf .csv .jsonl."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from plait.retrieval.errors import IngestError

SUPPORTED = (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".csv", ".jsonl")


@dataclass(frozen=True)
class Section:
    """A titled piece of a file, before splitting."""

    title: str
    section: str
    text: str


def _markdown(text: str, stem: str) -> list[Section]:
    title_match = re.search(r"^#\s+(.+)$", text, re.M)
    title = title_match.group(1).strip() if title_match else stem
    body = text[title_match.end():] if title_match else text
    parts = re.split(r"^##+\s+(.+)$", body, flags=re.M)
    sections = [Section(title, "", parts[0].strip())] if parts[0].strip() else []
    sections += [Section(title, parts[i].strip(), parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]
    return [s for s in sections if s.text]


class _HTMLText(HTMLParser):
    """Collect visible text; h1/title give the title, h2/h3 start sections."""

    def __init__(self) -> None:
        super().__init__()
        self.title, self.sections, self.current, self.buffer = "", [], "", []
        self._tag, self._skip = "", 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag in ("h2", "h3"):
            self._flush()
        self._tag = tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        if tag in ("p", "li", "br", "div", "tr"):
            self.buffer.append("\n")

    def handle_data(self, data: str) -> None:
        if self._skip or not data.strip():
            return
        if self._tag in ("title", "h1") and not self.title:
            self.title = data.strip()
        elif self._tag in ("h2", "h3"):
            self.current = data.strip()
        else:
            self.buffer.append(data)

    def _flush(self) -> None:
        text = re.sub(r"[ \t]+", " ", "".join(self.buffer)).strip()
        if text:
            self.sections.append((self.current, text))
        self.buffer = []


def _html(text: str, stem: str) -> list[Section]:
    parser = _HTMLText()
    parser.feed(text)
    parser._flush()
    return [Section(parser.title or stem, name, body) for name, body in parser.sections]


def _pdf(path: Path) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [(i + 1, page.extract_text() or "") for i, page in enumerate(reader.pages)]
    except (PdfReadError, ValueError, OSError) as exc:
        raise IngestError(f"not a readable PDF ({exc})") from exc
    title = (reader.metadata.title if reader.metadata and reader.metadata.title else None) or path.stem
    return [Section(title, f"page {n}", text.strip()) for n, text in pages if text.strip()]


def _csv(text: str, stem: str) -> list[Section]:
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as exc:
        raise IngestError(f"not valid CSV ({exc})") from exc
    return [Section(stem, f"row {i}", "\n".join(f"{k}: {v}" for k, v in row.items() if v))
            for i, row in enumerate(rows, 1)]


def _jsonl(text: str, stem: str) -> list[Section]:
    sections = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IngestError(f"line {number} is not valid JSON ({exc.msg})") from exc
        if isinstance(row, dict) and isinstance(row.get("text"), str):
            sections.append(Section(str(row.get("title") or stem), f"line {number}", row["text"]))
        else:
            sections.append(Section(stem, f"line {number}", json.dumps(row, ensure_ascii=False)))
    return sections


def load_sections(path: Path) -> list[Section]:
    """Read ``path`` into sections; raise :class:`IngestError` saying why it cannot be read."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(f"unsupported file type {suffix or '(none)'}; supported: {', '.join(SUPPORTED)}")
    if suffix == ".pdf":
        return _pdf(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise IngestError("not UTF-8 text; convert it to UTF-8 first") from exc
    except OSError as exc:
        raise IngestError(f"cannot be read ({exc.strerror})") from exc
    if suffix in (".md", ".markdown"):
        return _markdown(text, path.stem)
    if suffix in (".html", ".htm"):
        return _html(text, path.stem)
    if suffix == ".csv":
        return _csv(text, path.stem)
    if suffix == ".jsonl":
        return _jsonl(text, path.stem)
    return [Section(path.stem, "", text.strip())] if text.strip() else []
